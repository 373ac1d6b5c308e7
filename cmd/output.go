package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/report"
)

// extensionFormats maps a report file's extension to its format, in the order help lists them.
// An extension counts only when report.Formats() has its format (no csv for scan reports yet).
// A weak extension (.txt) says "text" more than "table": --format, when given, wins over it.
var extensionFormats = []struct {
	ext, format string
	weak        bool
}{
	{".json", "json", false}, {".sarif", "sarif", false}, {".html", "html", false}, {".htm", "html", false},
	{".md", "markdown", false}, {".markdown", "markdown", false}, {".csv", "csv", false}, {".txt", "table", true},
}

// formatOf is the format path's extension names ("" when it names none), whether the
// extension is weak, and whether it is one this list knows (even for a format scan lacks).
func formatOf(path string) (format string, weak, known bool) {
	ext := strings.ToLower(filepath.Ext(path))
	for _, ef := range extensionFormats {
		if ef.ext == ext {
			if slices.Contains(report.Formats(), ef.format) {
				return ef.format, ef.weak, true
			}
			return "", false, true
		}
	}
	return "", false, false
}

// outputExtensions lists the extensions -o understands, for help and hints.
func outputExtensions() string {
	var parts []string
	for _, ef := range extensionFormats {
		if slices.Contains(report.Formats(), ef.format) {
			parts = append(parts, ef.ext+" "+ef.format)
		}
	}
	return strings.Join(parts, ", ")
}

// namesNoFile: standard output, and an existing path that is not a regular file (/dev/stdout, a
// FIFO): their names say nothing about a format, so --format (default table) decides, as before
// -o read extensions.
func namesNoFile(path string) bool {
	if path == "-" {
		return true
	}
	fi, err := os.Stat(path)
	return err == nil && !fi.Mode().IsRegular()
}

// resolveOutputs gives each -o its format. The rules, kept strict so a report never comes out
// in a format nobody asked for:
//   - no -o: standard output in --format (default table);
//   - a file's extension names its format (outputExtensions); --format may be given too only
//     when it agrees;
//   - one -o whose extension names no format (report, audit-report.out) is written in --format
//     (default table), as before -o read extensions: scripts that wrote -o today keep working;
//     .txt is table unless --format says otherwise; an extension of a format scan reports do
//     not have (.csv) is a usage error;
//   - with several -o, every file needs an extension that names its format;
//   - "-" and paths that are not regular files (/dev/stdout) are written in --format;
//   - no file twice.
func (o *analysisOptions) resolveOutputs() ([]app.Output, error) {
	if len(o.Outputs) == 0 {
		return nil, nil
	}
	formatSet := o.changed != nil && o.changed("format")
	extHint := "use an extension that names the format (" + outputExtensions() + ")"
	seen := map[string]bool{}
	outs := make([]app.Output, 0, len(o.Outputs))
	for _, path := range o.Outputs {
		if path == "" {
			return nil, usagef("give a file name, or - for standard output", "-o: empty file name")
		}
		key := path
		if path != "-" {
			if abs, err := filepath.Abs(path); err == nil {
				key = abs
			}
		}
		if seen[key] {
			return nil, usagef("give each -o once", "-o %s given twice", path)
		}
		seen[key] = true
		if namesNoFile(path) {
			outs = append(outs, app.Output{Path: path, Format: o.Format})
			continue
		}
		f, weak, known := formatOf(path)
		switch {
		case weak && formatSet:
			f = o.Format
		case f == "" && known:
			return nil, usagef(extHint, "-o %s: scan reports have no %s format", path, strings.TrimPrefix(filepath.Ext(path), "."))
		case f != "" && formatSet && f != o.Format:
			return nil, usagef("the extension of -o names the format; --format is not needed with it",
				"-o %s but --format %s: drop one or make them agree", path, o.Format)
		case f == "" && len(o.Outputs) > 1:
			return nil, usagef(extHint+"; with several -o each file's extension names its format",
				"-o %s: the extension names no report format", path)
		case f == "":
			f = o.Format
		}
		outs = append(outs, app.Output{Path: path, Format: f})
	}
	return outs, nil
}
