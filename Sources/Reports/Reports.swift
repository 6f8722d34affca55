// The Reports layer; see docs/architecture.md.
