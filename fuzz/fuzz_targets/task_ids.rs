#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| marathon_operator_fuzz::checks::task_and_app_ids(data));
