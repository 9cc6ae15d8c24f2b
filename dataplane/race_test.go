//go:build race

package dataplane

// raceEnabled is true under -race, where sync.Pool drops some Puts on
// purpose and allocation counts mean nothing.
const raceEnabled = true
