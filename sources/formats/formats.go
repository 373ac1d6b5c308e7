// Package formats is the explicit list of the input formats vaultsentry reads. There is no
// init() registration: a new format is one package under sources/ and one line here.
package formats

import (
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/cloudtrail"
	"github.com/vaultsentry/vaultsentry/sources/k8saudit"
	"github.com/vaultsentry/vaultsentry/sources/lakefile"
	"github.com/vaultsentry/vaultsentry/sources/vault"
)

// Files are the file formats, in the order Load asks them whether a file is theirs.
func Files() []sources.FileFormat {
	return []sources.FileFormat{vault.Format{}, cloudtrail.Format{}, k8saudit.Format{}, lakefile.Format{}}
}

// Named is the file format called name, or nil.
func Named(name string) sources.FileFormat {
	for _, f := range Files() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}
