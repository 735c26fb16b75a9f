//! (filled in by the cli_output work)
