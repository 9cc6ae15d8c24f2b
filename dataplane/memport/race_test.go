//go:build race

package memport

const raceEnabled = true
