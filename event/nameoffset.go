package event

// NameOffset returns the raw offset SetName recorded: 0 when the event has no name, else the
// name's start in Resource plus one. With SetNameOffset it lets code that copies events field
// by field (the spill file of package spill) restore an event exactly; everything else reads
// Name.
func (e *Event) NameOffset() uint16 { return e.nameAt }

// SetNameOffset restores an offset NameOffset returned, unchecked: Name still returns "" when
// it lies beyond Resource.
func (e *Event) SetNameOffset(o uint16) { e.nameAt = o }
