package sources

// S3Stats accounts for what reading s3:// inputs cost and what it left out: the "s3" object of
// the JSON report's stats, and a few lines of the run summary. sources/s3store fills it.
type S3Stats struct {
	ListRequests int `json:"list_requests"` // ListObjectsV2 calls
	Listed       int `json:"objects_listed"`
	// PrunedPrefixes are folders never listed below: CloudTrail date folders outside
	// --since/--until, accounts and regions outside --account/--region, CloudTrail-Digest.
	PrunedPrefixes int `json:"prefixes_pruned"`
	// Skipped are objects listed and not fetched: folder markers, and CloudTrail log files
	// whose delivery time (in their name) is outside --since/--until.
	Skipped int   `json:"objects_skipped"`
	Fetched int   `json:"objects_fetched"`
	Bytes   int64 `json:"bytes"` // bytes received, as stored (compressed)
	Failed  int   `json:"objects_failed"`
	// Failures are the objects that could not be fetched or failed while read, with the error
	// (at most MaxProblemsListed; Failed keeps counting).
	Failures []S3Failure `json:"failures,omitempty"`
	// KMSObjects were stored with SSE-KMS: each GetObject of one is a kms:Decrypt call by the
	// reader, recorded as a KMS Decrypt event in CloudTrail.
	KMSObjects int `json:"kms_objects,omitempty"`
	// NewestDelivery is the delivery time of the newest CloudTrail log file found (from its
	// name), when a --since duration was counted back from it (S3 cannot say which event is
	// newest before reading).
	NewestDelivery string `json:"newest_delivery,omitempty"`
}

// S3Failure is one object that failed: where, after how many bytes, and why.
type S3Failure struct {
	Object string `json:"object"`
	Offset int64  `json:"offset"` // bytes received before the failure
	Error  string `json:"error"`
}
