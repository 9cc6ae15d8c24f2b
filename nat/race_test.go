//go:build race

package nat

// raceEnabled is true under -race, where allocation counts mean nothing.
const raceEnabled = true
