// The Streams layer; see docs/architecture.md.
