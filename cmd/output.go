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
var extensionFormats = []struct{ ext, format string }{
	{".json", "json"}, {".sarif", "sarif"}, {".html", "html"}, {".htm", "html"},
	{".md", "markdown"}, {".markdown", "markdown"}, {".csv", "csv"}, {".txt", "table"},
}

// formatOf is the format path's extension names, or "" when it names none.
func formatOf(path string) string {
	ext := strings.ToLower(filepath.Ext(path))
	for _, ef := range extensionFormats {
		if ef.ext == ext && slices.Contains(report.Formats(), ef.format) {
			return ef.format
		}
	}
	return ""
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
//     when it agrees, and is needed for an extension that names no format;
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
		f := formatOf(path)
		switch {
		case f != "" && formatSet && f != o.Format:
			return nil, usagef("the extension of -o names the format; --format is not needed with it",
				"-o %s but --format %s: drop one or make them agree", path, o.Format)
		case f == "" && len(o.Outputs) > 1:
			return nil, usagef(extHint+"; with several -o each file's extension names its format",
				"-o %s: the extension names no report format", path)
		case f == "" && !formatSet:
			return nil, usagef(extHint+", or pass --format "+strings.Join(report.Formats(), "|"),
				"-o %s: the extension names no report format and --format is not given", path)
		case f == "":
			f = o.Format
		}
		outs = append(outs, app.Output{Path: path, Format: f})
	}
	return outs, nil
}
