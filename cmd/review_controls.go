package cmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vaultsentry/vaultsentry/review"
)

// fileFramework is a framework of the user's own (the configuration's frameworks key), shaped
// like the shipped mapping (review/frameworks.yaml).
type fileFramework struct {
	ID       string        `yaml:"id"`
	Name     string        `yaml:"name"`
	Version  string        `yaml:"version"`
	Controls []fileControl `yaml:"controls"`
}

type fileControl struct {
	ID          string   `yaml:"id"`
	Title       string   `yaml:"title"`
	Evidence    []string `yaml:"evidence"`
	Remediation string   `yaml:"remediation"`
}

// applyFrameworks checks the user's frameworks into lc.Frameworks.
func (fc *fileConfig) applyFrameworks(lc *loadedConfig) error {
	builtin := review.FrameworkIDs(nil)
	for i, f := range fc.Frameworks {
		fw := review.Framework{ID: f.ID, Name: f.Name, Version: f.Version, User: true}
		for _, c := range f.Controls {
			fw.Controls = append(fw.Controls, review.ControlDef{ID: c.ID, Title: c.Title, Evidence: c.Evidence, Remediation: c.Remediation})
		}
		if err := review.CheckFramework(fw); err != nil {
			return fmt.Errorf("frameworks[%d]: %w", i, err)
		}
		if slices.Contains(builtin, fw.ID) || slices.ContainsFunc(lc.Frameworks, func(o review.Framework) bool { return o.ID == fw.ID }) {
			return fmt.Errorf("frameworks[%d]: id %q is taken (shipped: %s); give your framework its own id", i, fw.ID, strings.Join(builtin, ", "))
		}
		lc.Frameworks = append(lc.Frameworks, fw)
	}
	return nil
}

// reviewFrameworks are the frameworks --framework names, shipped or from the configuration.
func reviewFrameworks(ids []string, cfg *loadedConfig) ([]review.Framework, error) {
	fws, err := review.SelectFrameworks(ids, cfg.Frameworks)
	if err != nil {
		return nil, usagef("pass --framework "+strings.Join(review.FrameworkIDs(cfg.Frameworks), ",")+
			" (or define your own under frameworks: in the configuration file)", "--framework: %v", err)
	}
	return fws, nil
}
