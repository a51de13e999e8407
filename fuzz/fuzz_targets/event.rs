//! The `event` target: see `reportstats::fuzzing::check_event`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reportstats::fuzzing::check_event(data));
