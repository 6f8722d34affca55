// The Heartbeat layer; see docs/architecture.md.
