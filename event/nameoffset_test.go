package event

import "testing"

func TestNameOffset(t *testing.T) {
	var e Event
	if e.NameOffset() != 0 {
		t.Fatalf("zero event: offset %d", e.NameOffset())
	}
	e.Resource = "kv/prod/db"
	e.SetName(3)
	if e.NameOffset() != 4 || e.Name() != "prod/db" {
		t.Fatalf("SetName(3): offset %d, name %q", e.NameOffset(), e.Name())
	}
	var c Event
	c.Resource = e.Resource
	c.SetNameOffset(e.NameOffset())
	if c.nameAt != e.nameAt || c.Name() != e.Name() {
		t.Fatalf("copy by offset differs: %+v", c)
	}
	c.SetNameOffset(60000) // beyond Resource: kept, and no name
	if c.NameOffset() != 60000 || c.Name() != "" {
		t.Fatalf("offset past Resource: %d, name %q", c.NameOffset(), c.Name())
	}
}
