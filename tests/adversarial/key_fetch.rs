//! (filled in by the key_fetch work)
