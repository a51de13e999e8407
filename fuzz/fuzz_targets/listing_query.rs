//! The `listing_query` target: see `reportstats::fuzzing::check_listing_query`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reportstats::fuzzing::check_listing_query(data));
