//go:build race

package header

// raceEnabled is true under -race, where allocation counts mean nothing.
const raceEnabled = true
