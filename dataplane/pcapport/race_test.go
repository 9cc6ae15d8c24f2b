//go:build race

package pcapport

const raceEnabled = true
