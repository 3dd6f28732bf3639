#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| marathon_operator_fuzz::checks::translate_app(data));
