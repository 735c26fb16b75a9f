//! (filled in by the slow_clients work)
