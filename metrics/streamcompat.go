package metrics

// StreamCollector is the name internal/app gave the streaming Collector while it was a
// stand-in: NewCollector's Collector itself.
type StreamCollector = Collector

// Collector returns c, whose counts are complete once every event was added: what
// internal/app asked the stand-in for.
func (c *Collector) Collector() *Collector { return c }
