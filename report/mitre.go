package report

// mitreNames are the ATT&CK (Enterprise) technique names of the ids our rules cite, so the
// rules list and the reports can say what T1555.006 is without a network look-up. An id missing
// here is shown alone.
var mitreNames = map[string]string{
	"T1020":     "Automated Exfiltration",
	"T1069":     "Permission Groups Discovery",
	"T1069.003": "Permission Groups Discovery: Cloud Groups",
	"T1078":     "Valid Accounts",
	"T1078.001": "Valid Accounts: Default Accounts",
	"T1078.004": "Valid Accounts: Cloud Accounts",
	"T1087":     "Account Discovery",
	"T1087.004": "Account Discovery: Cloud Account",
	"T1098":     "Account Manipulation",
	"T1098.001": "Account Manipulation: Additional Cloud Credentials",
	"T1098.003": "Account Manipulation: Additional Cloud Roles",
	"T1110":     "Brute Force",
	"T1136":     "Create Account",
	"T1136.003": "Create Account: Cloud Account",
	"T1005":     "Data from Local System",
	"T1485":     "Data Destruction",
	"T1526":     "Cloud Service Discovery",
	"T1528":     "Steal Application Access Token",
	"T1530":     "Data from Cloud Storage",
	"T1531":     "Account Access Removal",
	"T1548":     "Abuse Elevation Control Mechanism",
	"T1548.005": "Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access",
	"T1550":     "Use Alternate Authentication Material",
	"T1550.001": "Use Alternate Authentication Material: Application Access Token",
	"T1552":     "Unsecured Credentials",
	"T1552.001": "Unsecured Credentials: Credentials In Files",
	"T1552.005": "Unsecured Credentials: Cloud Instance Metadata API",
	"T1555":     "Credentials from Password Stores",
	"T1555.006": "Credentials from Password Stores: Cloud Secrets Management Stores",
	"T1562":     "Impair Defenses",
	"T1562.001": "Impair Defenses: Disable or Modify Tools",
	"T1562.008": "Impair Defenses: Disable or Modify Cloud Logs",
	"T1580":     "Cloud Infrastructure Discovery",
	"T1619":     "Cloud Storage Object Discovery",
	"T1070":     "Indicator Removal",
	"T1651":     "Cloud Administration Command",
}

// MITREName returns "T1555.006 Credentials from Password Stores: Cloud Secrets Management Stores",
// or the id alone when it is not known here.
func MITREName(id string) string {
	if n, ok := mitreNames[id]; ok {
		return id + " " + n
	}
	return id
}
