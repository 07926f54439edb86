#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| secretkit_fuzz::run_aws(data));
