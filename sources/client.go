package sources

import "strings"

// interactiveProducts are the clients a person drives: command-line tools and HTTP libraries
// used from a shell or a notebook, and browsers. A workload's own client (client-go with the
// program's name, an SDK, Terraform, an operator) is not one of them. The AWS CLI is left out:
// scripts and pipelines use it as much as people do.
var interactiveProducts = [...]string{
	"curl", "wget", "httpie", "xh", "python-requests", "python-urllib", "python-httpx", "aiohttp",
	"postmanruntime", "insomnia", "mozilla", "powershell", "kubectl", "k9s", "lens", "openlens",
}

// InteractiveClient reports whether a user agent names a person's tool (curl, python-requests,
// kubectl, a browser, AWS CloudShell): the fact behind event.FlagInteractive. Only the product
// token (up to the first '/', space, '(' or ';') is compared, so versions do not matter.
func InteractiveClient(ua string) bool {
	if ua == "" {
		return false
	}
	if containsFold(ua[:min(len(ua), 512)], "exec-env/cloudshell") { // user agents are caller-chosen: bound the scan
		return true
	}
	end := strings.IndexAny(ua, "/ (;")
	if end < 0 {
		end = len(ua)
	}
	product := ua[:end]
	for _, p := range interactiveProducts {
		if strings.EqualFold(product, p) {
			return true
		}
	}
	return false
}

// containsFold is strings.Contains ignoring ASCII case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
