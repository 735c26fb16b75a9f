//! cargo-fuzz target `forward_headers`: see `tessera_fuzz::forward_headers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz::forward_headers(data));
