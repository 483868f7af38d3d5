"""Pure text helpers shared by the flow engine's checks and the messaging side (no I/O)."""
