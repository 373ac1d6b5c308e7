package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableColor: severities are coloured only when the Result says the output is a terminal,
// and colour does not break the table's alignment.
func TestTableColor(t *testing.T) {
	r := fixedResult()
	var plain, colour bytes.Buffer
	if err := (Table{}).Render(&plain, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without Result.Color")
	}
	r.Color = true
	if err := (Table{}).Render(&colour, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colour.String(), "\x1b[1;97;41mCRITICAL\x1b[0m") {
		t.Error("critical is not coloured")
	}
	strip := strings.NewReplacer("\x1b[1;97;41m", "", "\x1b[1;31m", "", "\x1b[0m", "")
	if got := strip.Replace(colour.String()); got != plain.String() {
		t.Errorf("colour changed the layout:\n%s\nwant\n%s", got, plain.String())
	}
}
