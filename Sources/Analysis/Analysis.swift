// The Analysis layer; see docs/architecture.md.
