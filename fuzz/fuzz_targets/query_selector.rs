#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| marathon_operator_fuzz::checks::query_and_selector(data));
