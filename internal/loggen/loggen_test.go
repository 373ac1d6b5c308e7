package loggen

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestGenerateIsDeterministicAndValid: the same options give the same bytes, every line is
// one JSON object, and requests come with their responses.
func TestGenerateIsDeterministicAndValid(t *testing.T) {
	a := Generate(2<<20, Options{})
	b := Generate(2<<20, Options{})
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same options differ")
	}
	if c := Generate(2<<20, Options{Seed: 8}); bytes.Equal(a, c) {
		t.Fatal("another seed gives the same log")
	}
	types := map[string]int{}
	for i, line := range bytes.Split(bytes.TrimSuffix(a, []byte{'\n'}), []byte{'\n'}) {
		var e struct{ Type string }
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		types[e.Type]++
	}
	if types["request"] == 0 || types["request"] != types["response"] {
		t.Errorf("entries by type: %v", types)
	}
}
