// The Capture layer; see docs/architecture.md.
