//! (filled in by the bombs work)
