package app

import (
	"fmt"

	"github.com/vaultsentry/vaultsentry/spill"
)

// secondPass is a streamed run's copy of the events it read, for the passes that need them
// again once the findings are known (values_read, the HTML charts, trace): a compact
// temporary file (package spill), so memory does not grow with the input.
type secondPass = spill.Log

// newSecondPass opens the copy in the temporary directory (TMPDIR).
func newSecondPass() (*secondPass, error) {
	l, err := spill.New("")
	if err != nil {
		return nil, runtimef("point TMPDIR at a writable directory with free space",
			fmt.Errorf("a temporary copy of the events for the second passes: %w", err))
	}
	return l, nil
}
