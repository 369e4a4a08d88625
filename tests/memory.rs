//! Memory of the real binary (issue 11): listing 10 000 actions and raising them all peaks at
//! no more than 50 MB. About 15 s in release mode; the benchmark (`cargo bench --bench bulk`)
//! measures the same at more sizes.
//!
//! The peak is the child's `ru_maxrss`, from `wait4`. Linux carries a process's peak across
//! `exec`, and a child is spawned sharing (or copying) its parent's memory until it execs, so a
//! child of this test process, which holds a sandbox of 10 000 actions and whatever the other
//! tests hold, would report this process's size. So the child is spawned by a small process
//! instead: this test binary started again to run only this same test, which, told so by
//! `DACTL_TEST_MEASURE_ARGS`, plays the helper (`measure_child`: spawn the command, reap it, print
//! its peak) instead of the test. No separate `#[test]` is a helper: one would count as a test
//! that passed while checking nothing.

use std::io::Read;
use std::process::{Command, Stdio};

use dactl::sandbox::SandboxOptions;

use crate::support::{Org, dactl_cmd, temp_dir};

/// The most the client may hold at its peak, in KiB (what `ru_maxrss` counts in on Linux).
const LIMIT_KB: u64 = 50 * 1024;

/// Set for the helper run: the `dactl` arguments to measure, as a JSON array.
const MEASURE: &str = "DACTL_TEST_MEASURE_ARGS";
/// The line the helper prints its findings on.
const MARK: &str = "measured: ";

/// The helper, in the process started by `peak_of`: runs `dactl` with `args` (a JSON array, from
/// `MEASURE`) and the sandbox's default client to its end and prints `measured: {"code",
/// "peak_kb", "stderr"}` (the end of stderr).
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by `wait4`, which gives its resource use"
)]
fn measure_child(args: &str) {
    let args: Vec<String> = serde_json::from_str(args).unwrap();
    let mut child = dactl_cmd()
        .args(&args)
        // The sandbox's default client.
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dactl starts");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let mut status: libc::c_int = 0;
    // SAFETY: plain out-parameters; the child is ours and not yet reaped (`Child::wait` is
    // never called on it).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert!(reaped > 0, "wait4: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // The end of stderr: the counts, the reasons, the journal (not the 10 000 rows above them).
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    let found = serde_json::json!({"code": code, "peak_kb": usage.ru_maxrss, "stderr": tail});
    // On a line of its own: the harness prints the test's name before it.
    println!("\n{MARK}{found}");
}

/// `dactl ARGS` run to its end from a small process (see the module doc): exit code, peak
/// resident memory in KiB, stderr.
fn peak_of(args: &[String]) -> (i64, u64, String) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture"])
        .args(["--test-threads", "1"])
        .env(MEASURE, serde_json::to_string(args).unwrap())
        .output()
        .expect("the test binary starts again");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(MARK))
        .unwrap_or_else(|| {
            panic!(
                "the helper printed no measurement: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let found: serde_json::Value = serde_json::from_str(line).unwrap();
    (
        found["code"].as_i64().unwrap(),
        found["peak_kb"].as_u64().unwrap(),
        found["stderr"].as_str().unwrap().to_owned(),
    )
}

/// The test below, by the name `--exact` matches.
const TEST: &str = "memory::slow_listing_and_raising_10_000_actions_peaks_under_50_mb";

#[test]
fn slow_listing_and_raising_10_000_actions_peaks_under_50_mb() {
    // Started again by `peak_of`: be the small helper process, not the test.
    if let Ok(args) = std::env::var(MEASURE) {
        return measure_child(&args);
    }
    let org = Org::start(SandboxOptions {
        actions: Some(10_000),
        // Never throttled: the client's pace is what is measured.
        rate_limit: 10_000_000,
        ..SandboxOptions::default()
    });
    let dir = temp_dir("memory");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/raise-timeouts.rhai");
    let args: Vec<String> = [
        "--environment",
        &org.url(),
        "--rate",
        "1000000",
        "--tokens",
        "1",
        "--journal",
        &dir.join("journal.jsonl").display().to_string(),
        "run",
        &script.display().to_string(),
        "--arg",
        "target=60",
        "--arg",
        "unset=set",
    ]
    .map(str::to_owned)
    .to_vec();
    let (code, peak_kb, stderr) = peak_of(&args);
    assert_eq!(code, 0, "{stderr}");
    // Every standard action was raised (the rest are built-in or already there), and read
    // back.
    let counts = stderr
        .lines()
        .find(|l| l.starts_with("10000 actions: "))
        .unwrap_or_else(|| panic!("no counts line in {stderr}"));
    assert!(counts.contains(" updated"), "{counts}");
    assert!(!counts.contains("failed"), "{counts}");
    let written = org.count(|method, route| {
        method == "PATCH" && route == "/api/v2/integrations/actions/{actionId}"
    });
    assert!(written > 8_000, "{written} PATCHes: {counts}");
    assert!(
        peak_kb <= LIMIT_KB,
        "listing and raising 10 000 actions peaked at {:.1} MB (ru_maxrss), over the 50 MB the \
         client may use",
        peak_kb as f64 / 1024.0
    );
}
