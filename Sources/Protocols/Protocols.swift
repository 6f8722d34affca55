// The Protocols layer; see docs/architecture.md.
