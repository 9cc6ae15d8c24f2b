//go:build race

package ipfrag_test

const raceEnabled = true
