//go:build race

package analyze

// raceEnabled: the race detector slows every event tenfold; the memory tests use fewer.
const raceEnabled = true
