//go:build !race

package memport

const raceEnabled = false
