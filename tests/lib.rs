//! All integration tests, in one binary. Every test talks to a sandbox over real HTTP on
//! 127.0.0.1; none needs credentials or the network.

mod analytics;
mod bulk;
mod change;
mod cli;
mod client;
mod collisions;
mod config;
mod contract;
mod credentials;
mod docs;
mod doctor;
mod doctor_stats;
mod editor;
mod eval;
mod evidence;
mod filters;
mod hostile;
mod isolation;
mod memory;
mod pool;
mod promises;
mod reliability;
mod repl;
mod reports;
mod safety;
mod sandbox;
mod script;
mod session;
mod speed;
mod stats;
mod support;
mod terminal;
mod unset;
mod variants;
mod wire;

/// Cargo builds only this binary (`autotests = false`): a `tests/*.rs` file not declared above
/// compiles into nothing, and its tests never run, silently. This fails naming any such file.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let lib = std::fs::read_to_string(dir.join("lib.rs")).unwrap();
    let declared: std::collections::BTreeSet<String> = lib
        .lines()
        .filter_map(|line| line.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .map(str::to_owned)
        .collect();
    let mut files = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if stem != "lib" {
                files.insert(stem);
            }
        }
    }
    // The scan looked in the right place: every declared module was found as a file.
    let unseen: Vec<&String> = declared.difference(&files).collect();
    assert!(
        unseen.is_empty(),
        "declared but not found in {}: {unseen:?}",
        dir.display()
    );
    let missing: Vec<String> = files
        .difference(&declared)
        .map(|stem| format!("tests/{stem}.rs (add `mod {stem};` to tests/lib.rs)"))
        .collect();
    assert!(
        missing.is_empty(),
        "test files that never run: {}",
        missing.join(", ")
    );
}
