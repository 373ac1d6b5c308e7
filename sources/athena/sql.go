// Package athena reads CloudTrail records from an Amazon Athena table over a trail's S3 bucket
// (the table of the AWS docs, "Querying AWS CloudTrail logs"): one query that selects only the
// columns the event model reads, for the event sources the detectors read, in the time range
// and, when the table is partitioned, in the partitions of that range; its result pages are
// turned back into CloudTrail records and decoded by sources/cloudtrail, so the record-to-event
// mapping is that package's alone.
package athena

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// EventSources are the event sources the query asks for: those whose calls the detectors give
// a meaning (Secrets Manager, Systems Manager for Parameter Store, CloudTrail itself, STS and
// sign-in for sessions and logins, KMS for the decrypts behind secret reads, IAM for the
// principals). The rest of an organisation trail (EC2, S3 data events, ...) is never fetched.
var EventSources = []string{
	"secretsmanager.amazonaws.com", "ssm.amazonaws.com", "kms.amazonaws.com", "cloudtrail.amazonaws.com",
	"sts.amazonaws.com", "signin.amazonaws.com", "iam.amazonaws.com",
}

// Partitioning says which partition columns the query constrains.
type Partitioning string

const (
	// PartitionsAuto asks Athena's GetTableMetadata for the table's partition keys.
	PartitionsAuto Partitioning = "auto"
	// PartitionsNone constrains no partition column (an unpartitioned table).
	PartitionsNone Partitioning = "none"
	// PartitionsTimestamp is the partition-projection table of the AWS docs: one string
	// column `timestamp` formatted yyyy/MM/dd (the S3 key's date folders).
	PartitionsTimestamp Partitioning = "timestamp"
	// PartitionsYMD is the manually partitioned table of the AWS docs: region, year, month,
	// day strings.
	PartitionsYMD Partitioning = "year-month-day"
)

// ParsePartitioning checks a --athena-partitions value.
func ParsePartitioning(s string) (Partitioning, error) {
	switch p := Partitioning(s); p {
	case PartitionsAuto, PartitionsNone, PartitionsTimestamp, PartitionsYMD:
		return p, nil
	}
	return "", fmt.Errorf("unknown partitioning %q (auto, none, timestamp, year-month-day)", s)
}

// partitioningOf is the scheme a table's partition keys show; none when they show neither.
func partitioningOf(keys []string) Partitioning {
	has := func(k string) bool {
		for _, x := range keys {
			if strings.EqualFold(x, k) {
				return true
			}
		}
		return false
	}
	switch {
	case has("timestamp"):
		return PartitionsTimestamp
	case has("year") && has("month") && has("day"):
		return PartitionsYMD
	}
	return PartitionsNone
}

// Column is one selected value: the SQL expression and the name it is returned under.
type Column struct{ Expr, Name string }

// Columns are what the query selects: the fields of a record that sources/cloudtrail reads,
// by the column names of the AWS docs' CloudTrail table (lower case, as the Hive JSON SerDe
// maps them). Struct fields are selected one by one, never the whole struct, so the result is
// flat strings whatever the engine's rendering of a ROW; resources become a JSON array of
// {"ARN","type"} objects (a map cast to JSON is an object in every Presto/Trino version).
var Columns = []Column{
	{"eventversion", "eventversion"},
	{"eventtime", "eventtime"},
	{"eventsource", "eventsource"},
	{"eventname", "eventname"},
	{"eventtype", "eventtype"},
	{"awsregion", "awsregion"},
	{"sourceipaddress", "sourceipaddress"},
	{"useragent", "useragent"},
	{"errorcode", "errorcode"},
	{"errormessage", "errormessage"},
	{"eventid", "eventid"},
	{"recipientaccountid", "recipientaccountid"},
	{"readonly", "readonly"},
	{"sessioncredentialfromconsole", "sessioncredentialfromconsole"},
	{"requestparameters", "requestparameters"},
	{"responseelements", "responseelements"},
	{"additionaleventdata", "additionaleventdata"},
	{"useridentity.type", "ui_type"},
	{"useridentity.principalid", "ui_principalid"},
	{"useridentity.arn", "ui_arn"},
	{"useridentity.accountid", "ui_accountid"},
	{"useridentity.accesskeyid", "ui_accesskeyid"},
	{"useridentity.username", "ui_username"},
	{"useridentity.invokedby", "ui_invokedby"},
	{"useridentity.sessioncontext.sessionissuer.type", "si_type"},
	{"useridentity.sessioncontext.sessionissuer.arn", "si_arn"},
	{"useridentity.sessioncontext.sessionissuer.username", "si_username"},
	{"useridentity.sessioncontext.sessionissuer.accountid", "si_accountid"},
	{"useridentity.onbehalfof.userid", "obo_userid"},
	{"useridentity.onbehalfof.identitystorearn", "obo_identitystorearn"},
	{"json_format(CAST(transform(resources, r -> map(ARRAY['ARN', 'type'], ARRAY[r.arn, r.type])) AS JSON))", "resources_json"},
}

// identRE is what a database or table name may be: Athena's names are letters, digits,
// underscores (and hyphens in quoted names). Anything else is refused rather than quoted, so
// no argument can change the statement.
var identRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$`)

// ParseTable splits DB.TABLE.
func ParseTable(s string) (db, table string, err error) {
	db, table, ok := strings.Cut(s, ".")
	if !ok || !identRE.MatchString(db) || !identRE.MatchString(table) {
		return "", "", fmt.Errorf("%q is not DATABASE.TABLE (letters, digits, '_' and '-')", s)
	}
	return strings.ToLower(db), strings.ToLower(table), nil
}

// Query is what the statement asks for.
type Query struct {
	Database, Table string
	// Start (inclusive) and End (exclusive) bound eventtime; End zero: no upper bound.
	Start, End time.Time
	Partitions Partitioning // resolved: never PartitionsAuto
}

// ctTime is eventtime's format in the records (and so in the table's string column): fixed
// width, so strings compare as the times do.
const ctTime = "2006-01-02T15:04:05Z"

// SQL is the statement: only the columns of Columns, the event sources of EventSources, the
// time range on eventtime as string comparisons, and the partition columns of the range. The
// date folders hold the records delivered that day, up to about 15 minutes after the event,
// so the partition range runs from Start's date to the day after End's.
func (q Query) SQL() string {
	var b strings.Builder
	b.WriteString("SELECT\n")
	for i, c := range Columns {
		sep := ","
		if i == len(Columns)-1 {
			sep = ""
		}
		if c.Expr == c.Name {
			fmt.Fprintf(&b, "  %s%s\n", c.Expr, sep)
		} else {
			fmt.Fprintf(&b, "  %s AS %s%s\n", c.Expr, c.Name, sep)
		}
	}
	fmt.Fprintf(&b, "FROM %q.%q\n", q.Database, q.Table)
	quoted := make([]string, len(EventSources))
	for i, s := range EventSources {
		quoted[i] = "'" + s + "'"
	}
	fmt.Fprintf(&b, "WHERE eventsource IN (%s)\n", strings.Join(quoted, ", "))
	if !q.Start.IsZero() {
		fmt.Fprintf(&b, "  AND eventtime >= '%s'\n", q.Start.UTC().Format(ctTime))
	}
	if !q.End.IsZero() {
		fmt.Fprintf(&b, "  AND eventtime < '%s'\n", q.End.UTC().Format(ctTime))
	}
	lo, hi := "", ""
	if !q.Start.IsZero() {
		lo = q.Start.UTC().Format("2006/01/02")
	}
	if !q.End.IsZero() {
		hi = q.End.UTC().AddDate(0, 0, 1).Format("2006/01/02")
	}
	switch q.Partitions {
	case PartitionsTimestamp:
		if lo != "" {
			fmt.Fprintf(&b, "  AND \"timestamp\" >= '%s'\n", lo)
		}
		if hi != "" {
			fmt.Fprintf(&b, "  AND \"timestamp\" <= '%s'\n", hi)
		}
	case PartitionsYMD:
		// year alone lets the engine prune by column domain; the concatenation bounds the days.
		if lo != "" {
			fmt.Fprintf(&b, "  AND year >= '%s' AND concat(year, '/', month, '/', day) >= '%s'\n", lo[:4], lo)
		}
		if hi != "" {
			fmt.Fprintf(&b, "  AND year <= '%s' AND concat(year, '/', month, '/', day) <= '%s'\n", hi[:4], hi)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
