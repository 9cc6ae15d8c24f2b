//go:build race

package gso

const raceEnabled = true
