// The Decoding layer; see docs/architecture.md.
