//! (filled in by the forwarding work)
