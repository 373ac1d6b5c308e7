//go:build !race

package sources

// raceEnabled: the race detector makes memory and time several times larger; big tests shrink.
const raceEnabled = false
