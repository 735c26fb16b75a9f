//! cargo-fuzz target `routes`: see `tessera_fuzz::routes`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz::routes(data));
