package sources

import "fmt"

// readCloudTrail is a placeholder until the CloudTrail reader lands (issue 6).
func readCloudTrail(in Input, f *openedInput, opts LoadOptions, st *FileStats) ([]Event, error) {
	return nil, fmt.Errorf("read %s: CloudTrail input is not supported yet", in.Name)
}
