//go:build race

package race

// Enabled: the race detector makes memory and time several times larger; big tests shrink.
const Enabled = true
