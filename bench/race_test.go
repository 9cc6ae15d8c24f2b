//go:build race

package bench

// raceEnabled is true under -race, where allocation counts mean nothing.
const raceEnabled = true
