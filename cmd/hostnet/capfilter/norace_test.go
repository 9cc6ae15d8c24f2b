//go:build !race

package capfilter

// raceEnabled is true under -race, where allocation counts mean nothing.
const raceEnabled = false
