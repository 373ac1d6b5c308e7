package cmd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/vaultsentry/vaultsentry/internal/app"
)

// Streams are the standard streams of a command, with what is known about the terminal.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	ErrTTY bool // stderr is a terminal: progress lines allowed
	OutTTY bool
	Color  bool
	// Width is the width of Out in columns for the table: the terminal's, else COLUMNS, else 0
	// (report.DefaultWidth).
	Width int
}

// SystemStreams are the process's streams. Colour follows NO_COLOR / CLICOLOR_FORCE conventions.
func SystemStreams() Streams {
	s := Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())), OutTTY: term.IsTerminal(int(os.Stdout.Fd()))}
	if stdoutClosedAtStart() {
		s.Out = closedWriter{}
	}
	s.Color = s.OutTTY
	s.Width = outWidth(s.OutTTY, func() (int, error) { w, _, err := term.GetSize(int(os.Stdout.Fd())); return w, err }, os.Getenv("COLUMNS"))
	if os.Getenv("NO_COLOR") != "" {
		s.Color = false
	} else if os.Getenv("CLICOLOR_FORCE") != "" && os.Getenv("CLICOLOR_FORCE") != "0" {
		s.Color = true
	}
	return s
}

// outWidth is the table's width: the terminal's size when stdout is one, else COLUMNS (a
// positive number), else 0, which the table reads as report.DefaultWidth (piped output).
func outWidth(tty bool, size func() (int, error), columns string) int {
	if tty {
		if w, err := size(); err == nil && w > 0 {
			return w
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(columns)); err == nil && n > 0 && n <= maxColumns {
		return n
	}
	return 0
}

// maxColumns bounds COLUMNS: a larger value is a mistake, not a terminal.
const maxColumns = 10000

// ErrStdoutClosed is the error of every write to a standard output that was closed when the
// process started: the report has nowhere to go, which is a failure (exit 3), not a success.
var ErrStdoutClosed = errors.New("standard output is closed")

// closedWriter is standard output when it was closed at start (stdoutClosedAtStart).
type closedWriter struct{}

func (closedWriter) Write([]byte) (int, error) { return 0, ErrStdoutClosed }

// app are the streams as internal/app takes them.
func (s Streams) app() app.IO {
	return app.IO{In: s.In, Out: s.Out, Err: s.Err, ErrTTY: s.ErrTTY, Color: s.Color, Width: s.Width}
}

// TestStreams returns buffered streams for tests.
func TestStreams() (Streams, *bytes.Buffer, *bytes.Buffer) {
	out, errb := &bytes.Buffer{}, &bytes.Buffer{}
	return Streams{In: &bytes.Buffer{}, Out: out, Err: errb}, out, errb
}
