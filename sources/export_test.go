package sources

// RaceEnabled tells the external test package (sources_test) that the race detector is on.
const RaceEnabled = raceEnabled
