//! The fuzzers' corpora, replayed as a regression test: every file under
//! `fuzz/corpus/TARGET/` goes through the same check the fuzz target
//! `TARGET` runs (`reportstats::fuzzing`), without nightly or libFuzzer.

use std::fs;
use std::panic;
use std::path::Path;

use reportstats::fuzzing::{TARGETS, check};

#[test]
fn every_committed_fuzz_input_passes_its_targets_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut failures = Vec::new();
    for (target, _) in TARGETS {
        let folder = root.join(target);
        let mut entries: Vec<_> = fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .map(|entry| entry.expect("a readable corpus folder").path())
            .collect();
        entries.sort();
        assert!(!entries.is_empty(), "{} is empty", folder.display());
        for path in entries {
            let data = fs::read(&path).expect("a readable corpus file");
            let outcome = panic::catch_unwind(|| check(target, &data));
            if outcome.is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "checks failed for {failures:#?}");
}

#[test]
fn each_fuzz_target_has_its_corpus_and_its_binary() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (target, _) in TARGETS {
        assert!(
            fuzz.join("corpus").join(target).is_dir(),
            "fuzz/corpus/{target}/ is missing"
        );
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no target `{target}`"
        );
    }
}
