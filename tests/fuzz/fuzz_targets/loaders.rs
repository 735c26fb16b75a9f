//! cargo-fuzz target `loaders`: see `tessera_fuzz::loaders`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz::loaders(data));
