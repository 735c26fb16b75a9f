//! cargo-fuzz target `token_decode`: see `tessera_fuzz::token_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz::token_decode(data));
