#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| intake_rules::fuzzing::text_checks(data));
