package sources

// StartTimes is startTimes, for the tests of package sources_test.
var StartTimes = startTimes
