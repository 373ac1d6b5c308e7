package cmd

import (
	"bytes"
	"errors"
	"io"
	"os"

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
}

// SystemStreams are the process's streams. Colour follows NO_COLOR / CLICOLOR_FORCE conventions.
func SystemStreams() Streams {
	s := Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())), OutTTY: term.IsTerminal(int(os.Stdout.Fd()))}
	if stdoutClosedAtStart() {
		s.Out = closedWriter{}
	}
	s.Color = s.OutTTY
	if os.Getenv("NO_COLOR") != "" {
		s.Color = false
	} else if os.Getenv("CLICOLOR_FORCE") != "" && os.Getenv("CLICOLOR_FORCE") != "0" {
		s.Color = true
	}
	return s
}

// ErrStdoutClosed is the error of every write to a standard output that was closed when the
// process started: the report has nowhere to go, which is a failure (exit 3), not a success.
var ErrStdoutClosed = errors.New("standard output is closed")

// closedWriter is standard output when it was closed at start (stdoutClosedAtStart).
type closedWriter struct{}

func (closedWriter) Write([]byte) (int, error) { return 0, ErrStdoutClosed }

// app are the streams as internal/app takes them.
func (s Streams) app() app.IO {
	return app.IO{In: s.In, Out: s.Out, Err: s.Err, ErrTTY: s.ErrTTY, Color: s.Color}
}

// TestStreams returns buffered streams for tests.
func TestStreams() (Streams, *bytes.Buffer, *bytes.Buffer) {
	out, errb := &bytes.Buffer{}, &bytes.Buffer{}
	return Streams{In: &bytes.Buffer{}, Out: out, Err: errb}, out, errb
}
