//go:build !race

// Package race tells tests whether the race detector is on: it makes memory and time several
// times larger, and the big tests shrink under it.
package race

// Enabled: the race detector makes memory and time several times larger; big tests shrink.
const Enabled = false
