//! Hostile and mistaken input, through the real binary against a sandbox org: each case gets an
//! error that names the input and says how to fix it, the documented exit code (2 usage or
//! configuration, 1 script or API failure), and the org receives no write at all (a bad region
//! names no org: there, no request leaves dactl at all, as a stand-in proxy shows). Then secrets:
//! at `-vvv` with `RUST_LOG=trace`, neither the client secret nor any token the sandbox issued
//! shows up in output or in any file dactl wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dactl::sandbox::SandboxOptions;

use crate::support::{Org, dactl_cmd, stderr, stdout, temp_dir};

const USAGE: i32 = 2;
const FAILURE: i32 = 1;

/// The id of one standard action of the seed org (ids are the same in every seed org).
fn standard_id(org: &Org) -> String {
    let out = org.dactl(&[
        "eval",
        "list_actions().filter(|a| a.kind == \"standard\")[0].id",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

/// Asserts the exit code, that stderr contains every `needle`, and that the org saw no write.
fn expect(org: &Org, case: &str, out: &Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{case}: {err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "{case}: `{needle}` missing from: {err}"
        );
    }
    assert_eq!(org.writes(), 0, "{case}: the org received a write");
}

#[test]
fn bad_timeouts_name_the_value_and_the_range_and_write_nothing() {
    let org = Org::seed();
    let id = standard_id(&org);
    // (Rhai literal, what the message must name)
    let cases = [
        ("0", "`0`"),
        ("61", "`61`"),
        ("-1", "`-1`"),
        ("1.5", "`1.5`"),
        ("\"abc\"", "`abc`"),
        ("5000", "5000ms"),
        ("\"1500ms\"", "`1500ms`"),
        ("\"\"", "empty"),
    ];
    for (value, named) in cases {
        for call in [
            format!("update_timeout(\"{id}\", {value})"),
            format!("update_timeouts([\"{id}\"], {value})"),
            format!("update_timeouts(list_actions(), |a| {value})"),
        ] {
            let out = org.dactl(&["eval", &call]);
            let err = stderr(&out);
            if call.contains("|a|") {
                // A closure's bad value fails each action with the reason: still no write.
                assert_ne!(out.status.code(), Some(0), "{call}: {err}");
                assert!(
                    format!("{err}{}", stdout(&out)).contains("1 to 60"),
                    "{call}: {err}"
                );
                assert_eq!(org.writes(), 0, "{call}");
            } else {
                expect(&org, &call, &out, FAILURE, &[named, "1 to 60", "<eval>:1:"]);
            }
        }
    }
}

/// A float that holds a whole number is that many seconds (`30.0`, `1e1`); one with a fraction,
/// or out of range, is refused naming the value as Rhai shows it, never rounded, and not written.
#[test]
fn a_float_timeout_with_no_fraction_is_its_whole_number_and_others_are_named_as_typed() {
    let org = Org::seed();
    let id = standard_id(&org);
    for (value, seconds) in [("30.0", 30), ("1e1", 10)] {
        let call = format!("update_timeout(\"{id}\", {value}).after");
        let out = org.dactl(&["eval", &call]);
        assert_eq!(out.status.code(), Some(0), "{call}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), seconds.to_string(), "{call}");
        assert_eq!(org.action(&id)["config"]["timeoutSeconds"], seconds);
    }
    let writes = org.writes();
    for (value, named) in [
        ("30.5", "`30.5`"),
        ("5000.0", "`5000.0`"),
        ("0.0", "`0.0`"),
        ("-2.0", "`-2.0`"),
    ] {
        let call = format!("update_timeout(\"{id}\", {value})");
        let out = org.dactl(&["eval", &call]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(FAILURE), "{call}: {err}");
        assert!(
            err.contains(named) && err.contains("1 to 60"),
            "{call}: {err}"
        );
    }
    assert_eq!(org.writes(), writes, "a refused timeout wrote");
}

#[test]
fn bad_ids_are_named_with_a_way_to_find_good_ones() {
    let org = Org::seed();
    let unknown = "0badc0de-0000-4000-8000-000000000000";
    let cases: [(&str, &[&str]); 3] = [
        ("", &["empty", "list_actions()"]),
        ("not-a-uuid", &["`not-a-uuid`", "404", "check the id"]),
        (unknown, &[unknown, "404", "check the id"]),
    ];
    for (id, needles) in cases {
        for call in [
            format!("update_timeout(\"{id}\", 30)"),
            format!("fetch_action(\"{id}\")"),
        ] {
            let out = org.dactl(&["eval", &call]);
            expect(&org, &call, &out, FAILURE, needles);
        }
    }
    // Several unknown ids at once fail one by one, each with its id; the run exits 1.
    let call = format!("update_timeouts([\"{unknown}\", \"not-a-uuid\"], 30)");
    let out = org.dactl(&["eval", &call]);
    assert_eq!(out.status.code(), Some(FAILURE), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains(unknown) && all.contains("not-a-uuid"), "{all}");
    assert_eq!(org.writes(), 0);

    // A built-in (static) action is skipped with the reason, not an error: nothing to fix.
    let static_id = org
        .actions()
        .into_iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .find(|id| id.starts_with("static_"))
        .expect("the seed org has static actions");
    let out = org.dactl(&["eval", &format!("update_timeout(\"{static_id}\", 30)")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains(&static_id) && all.contains("static"), "{all}");
    assert_eq!(org.writes(), 0);
}

#[test]
fn bad_arguments_to_host_functions_are_named() {
    let org = Org::seed();
    let cases: [(&str, &[&str]); 5] = [
        ("list_actions(#{categry: \"CRM\"})", &["`categry`"]),
        ("list_actions(#{ids: 5})", &["ids"]),
        ("update_timeout(42, 30)", &["action map or an action id"]),
        ("update_timeout(#{name: \"x\"}, 30)", &["`id`"]),
        ("fetch_action(\"\")", &["empty"]),
    ];
    for (call, needles) in cases {
        let out = org.dactl(&["eval", call]);
        expect(&org, call, &out, FAILURE, needles);
    }
}

/// A stand-in for an HTTP proxy: `dactl` with `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` set to
/// it sends every request there (reqwest honours them, loopback targets included), so it sees any
/// connection dactl makes, whatever host that connection was meant for.
struct Proxy {
    listener: std::net::TcpListener,
    url: String,
}

impl Proxy {
    fn new() -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        Proxy { listener, url }
    }

    /// `dactl` with sandbox credentials whose every request goes to this proxy.
    fn dactl(&self) -> Command {
        let mut cmd = dactl_cmd();
        cmd.env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env(var, &self.url);
        }
        cmd
    }

    /// Whether a connection is waiting (one made by a process that has exited is still queued).
    fn was_reached(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

#[test]
fn bad_regions_are_usage_errors_that_name_them() {
    let proxy = Proxy::new();
    // The control: a valid target does send its first request (the token) through the proxy, so
    // the silence asserted below means nothing left dactl. (Port 9 on loopback: were the proxy
    // ignored, the request would meet a closed port, not a real org.)
    let mut child = proxy
        .dactl()
        .args([
            "--environment",
            "http://127.0.0.1:9",
            "eval",
            "list_actions()",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut reached = false;
    while !reached && started.elapsed() < std::time::Duration::from_secs(20) {
        reached = proxy.was_reached();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(reached, "the control request never reached the proxy");
    // The control may have connected again (a retry) before it was killed: that connection waits
    // in the listener's queue and would read as a request from the cases below. Nothing can
    // connect any more, so the queue is emptied once.
    while proxy.was_reached() {}

    let cases: [(&str, &[&str]); 4] = [
        ("mars-1", &["`mars-1`", "eu-west-1"]),
        ("http://example.com", &["`http://example.com`", "127.0.0.1"]),
        (
            "https://api.mypurecloud.com/some/path",
            &["`https://api.mypurecloud.com/some/path`", "path"],
        ),
        ("", &["empty", "eu-west-1"]),
    ];
    for (region, needles) in cases {
        for how in ["flag", "env"] {
            let mut cmd = proxy.dactl();
            if how == "flag" {
                cmd.args(["--region", region]);
            } else {
                cmd.env("GENESYSCLOUD_REGION", region);
            }
            let out = cmd
                .args(["eval", "update_timeouts(list_actions(), 30)"])
                .output()
                .unwrap();
            let case = format!("{region:?} by {how}");
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(USAGE), "{case}: {err}");
            // An empty variable counts as unset: no region at all, still a usage error, but the
            // message is about the missing region rather than this value.
            if !(how == "env" && region.is_empty()) {
                for needle in needles {
                    assert!(
                        err.contains(needle),
                        "{case}: `{needle}` missing from: {err}"
                    );
                }
            }
            // A bad region that slipped through validation (say, a path kept on an https URL)
            // would try the token endpoint first: the proxy would see it.
            assert!(!proxy.was_reached(), "{case}: a request left dactl");
        }
    }
}

#[test]
fn wrong_or_missing_credentials_say_which_and_never_echo_the_secret() {
    let org = Org::seed();
    let wrong = "Wr0ng-S3cret-0451";
    let out = dactl_cmd()
        .args(["--environment", &org.url(), "eval", "list_actions().len()"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", wrong)
        .output()
        .unwrap();
    expect(
        &org,
        "wrong secret",
        &out,
        FAILURE,
        &[
            "GENESYSCLOUD_OAUTHCLIENT_ID",
            "GENESYSCLOUD_OAUTHCLIENT_SECRET",
            "region",
            &org.url().replace("http://", ""),
        ],
    );
    assert!(!stderr(&out).contains(wrong) && !stdout(&out).contains(wrong));

    let out = dactl_cmd()
        .args(["--environment", &org.url(), "eval", "list_actions().len()"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .output()
        .unwrap();
    expect(
        &org,
        "missing secret",
        &out,
        USAGE,
        &["GENESYSCLOUD_OAUTHCLIENT_SECRET"],
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let org = Org::seed();
    let cases: [&[&str]; 8] = [
        &["--rate", "0", "eval", "1"],
        &["--rate", "-5", "eval", "1"],
        &["--rate", "fast", "eval", "1"],
        &["--concurrency", "65", "eval", "1"],
        &["--concurrency", "", "eval", "1"],
        &["--tokens", "0", "eval", "1"],
        &["--tokens", "51", "eval", "1"],
        &["--no-such-flag", "eval", "1"],
    ];
    for args in cases {
        let out = org.dactl(args);
        expect(&org, &format!("{args:?}"), &out, USAGE, &["error"]);
    }
}

/// `dactl run` and `dactl check` of a file.
fn run_and_check(org: &Org, path: &Path) -> [Output; 2] {
    let path = path.to_str().unwrap();
    [
        org.dactl(&["run", path]),
        dactl_cmd().args(["check", path]).output().unwrap(),
    ]
}

#[test]
fn unusable_script_files_are_named_with_a_fix() {
    let org = Org::seed();
    let dir = temp_dir("files");
    let missing = dir.join("missing.rhai");
    let empty = dir.join("empty.rhai");
    std::fs::write(&empty, "  \n\n").unwrap();
    let binary = dir.join("binary.rhai");
    let mut rng = fastrand::Rng::with_seed(6);
    let mut bytes: Vec<u8> = (0..4096).map(|_| rng.u8(..)).collect();
    bytes[10] = 0xff; // never valid UTF-8, whatever the seed
    std::fs::write(&binary, bytes).unwrap();
    // 20 MB of real work: if dactl tried, it would write.
    let huge = dir.join("huge.rhai");
    let line = "update_timeouts(list_actions(), 30);\n";
    std::fs::write(&huge, line.repeat(20_000_000 / line.len())).unwrap();

    let cases: [(&Path, &[&str]); 4] = [
        (&missing, &["missing.rhai`", "Check the path"]),
        (&empty, &["empty.rhai`", "empty", "Check the path"]),
        (&binary, &["binary.rhai`", "UTF-8", "Check the path"]),
        (&huge, &["huge.rhai`", "10 MiB", "Check the path"]),
    ];
    for (path, needles) in cases {
        let started = std::time::Instant::now();
        for out in run_and_check(&org, path) {
            expect(&org, &path.display().to_string(), &out, FAILURE, needles);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{}: refused quickly",
            path.display()
        );
    }
}

#[test]
fn syntax_errors_point_at_file_line_and_column_with_a_caret() {
    let org = Org::seed();
    let dir = temp_dir("syntax");
    let cases = [
        ("unclosed.rhai", "let ids = [1, 2;\n", "unclosed.rhai:1:"),
        (
            "second_line.rhai",
            "let a = 1;\nlet b = (2 + ;\n",
            "second_line.rhai:2:14",
        ),
        ("string.rhai", "print(\"never closed);\n", "string.rhai:1:"),
        ("keyword.rhai", "let fn = 3;\n", "keyword.rhai:1:"),
    ];
    for (name, source, location) in cases {
        let path = dir.join(name);
        std::fs::write(&path, source).unwrap();
        for out in run_and_check(&org, &path) {
            expect(&org, name, &out, FAILURE, &["Syntax error", location, "^"]);
            // The offending line is shown above the caret.
            let first_line = source.lines().last().unwrap();
            assert!(
                stderr(&out).contains(first_line),
                "{name}: {}",
                stderr(&out)
            );
        }
    }
    let out = org.dactl(&["eval", "let x = ;"]);
    expect(&org, "eval", &out, FAILURE, &["<eval>:1:9", "^"]);
}

#[test]
fn endless_recursion_stops_at_the_call_depth_limit() {
    let org = Org::seed();
    let out = org.dactl(&["eval", "fn down(n) { down(n + 1) } down(0)"]);
    expect(
        &org,
        "recursion",
        &out,
        FAILURE,
        &["nested too deeply", "64", "recursion"],
    );
}

/// About 10 s in a debug build (200 million operations), 1 to 2 s in release. Skip locally with
/// `cargo test -- --skip slow_`.
#[test]
fn slow_an_endless_loop_stops_at_the_operations_limit() {
    let org = Org::seed();
    let out = org.dactl(&["eval", "loop { }"]);
    expect(
        &org,
        "loop",
        &out,
        FAILURE,
        &["operations", "endless loops", "<eval>:1:"],
    );
}

// -- Secrets -----------------------------------------------------------------------------------

const SECRET: &str = "S3cr3t-XYZ-unique";

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn no_secret_or_token_appears_in_output_or_files_at_full_verbosity() {
    let org = Org::start(SandboxOptions {
        clients: vec![("cid".into(), SECRET.into())],
        ..SandboxOptions::default()
    });
    let home = temp_dir("secrets-home");
    let scripts = temp_dir("secrets-scripts");
    let script = scripts.join("raise.rhai");
    std::fs::write(
        &script,
        "let all = list_actions();\nlet changes = update_timeouts(all, |a| if a.kind == \"standard\" { 31 } else { () });\n\
         print(auth());\nprint(changes.len());\nverify(changes);\n",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let dactl = |secret: &str, args: &[&str], stdin: Option<&str>| -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dactl"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &*home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", "cid")
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)
            .args(["-vvv", "--environment", &org.url()])
            .args(args);
        match stdin {
            None => cmd.output().unwrap(),
            Some(text) => {
                use std::io::Write;
                let mut child = cmd
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
        }
    };
    let wrong = "Wr0ng-XYZ-unique";
    let runs = [
        dactl(SECRET, &["eval", "auth()"], None),
        dactl(SECRET, &["eval", "list_actions()"], None),
        dactl(SECRET, &["--json", "eval", "list_actions()"], None),
        dactl(SECRET, &["run", script], None),
        dactl(SECRET, &["--dry-run", "run", script], None),
        dactl(SECRET, &["check", script], None),
        dactl(
            SECRET,
            &[
                "eval",
                "update_timeout(\"0badc0de-0000-4000-8000-000000000000\", 5)",
            ],
            None,
        ),
        dactl(
            SECRET,
            &["repl"],
            Some("auth()\nlet a = list_actions();\nupdate_timeouts(a, 32)\n:quit\n"),
        ),
        dactl(wrong, &["eval", "list_actions()"], None),
        dactl(wrong, &["run", script], None),
    ];
    assert!(
        runs[3].status.success(),
        "the script ran: {}",
        stderr(&runs[3])
    );
    assert!(org.writes() > 0, "the run wrote, so journals exist");

    let tokens: Vec<String> = org.rt.block_on(async {
        let body: serde_json::Value = reqwest::get(format!("{}/sandbox/tokens", org.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    });
    assert!(
        tokens.len() >= 7,
        "each successful run minted a token: {tokens:?}"
    );
    let mut needles: Vec<&str> = vec![SECRET, wrong];
    needles.extend(tokens.iter().map(String::as_str));

    let mut haystacks: Vec<(String, String)> = Vec::new();
    for (i, out) in runs.iter().enumerate() {
        haystacks.push((format!("run {i} stdout"), stdout(out)));
        haystacks.push((format!("run {i} stderr"), stderr(out)));
    }
    let files = files_under(&home);
    assert!(
        files
            .iter()
            .any(|f| f.starts_with(home.join("state")) && f.to_string_lossy().contains("journal")),
        "a journal was written under XDG_STATE_HOME: {files:?}"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        haystacks.push((
            file.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    for (place, text) in &haystacks {
        for needle in &needles {
            assert!(
                !text.contains(needle),
                "a secret or token appears in {place}"
            );
        }
    }
}

// -- Parsers under random input ------------------------------------------------------------------
// What `src/change/timeout.rs` and `src/genesys/region.rs` already prove (no panic, the range,
// https or loopback only) is not repeated; these add that every error names what was typed and
// says what would be right, and that what parses round-trips.

mod parsers {
    use dactl::change::Timeout;
    use dactl::genesys::{REGIONS, Target};
    use proptest::prelude::*;

    /// Text shaped like a timeout, with noise: signs, dots, units, spaces, other letters.
    fn timeout_like() -> impl Strategy<Value = String> {
        "[ ]{0,2}[-+]?[0-9]{0,7}(\\.[0-9]{0,2})?[ ]?(s|ms|m|S|MS|sec|min|h|x|)[ ]{0,2}"
    }

    fn check_timeout(text: &str) -> Result<(), TestCaseError> {
        match Timeout::parse(text) {
            Ok(t) => {
                prop_assert!((1..=60).contains(&t.seconds()));
                // What parses round-trips through its display, bare seconds too.
                prop_assert_eq!(Timeout::parse(&t.to_string()), Ok(t));
                prop_assert_eq!(Timeout::parse(&t.seconds().to_string()), Ok(t));
            }
            Err(e) => {
                let input = text.trim();
                if input.is_empty() {
                    prop_assert!(e.message.contains("empty"), "{}", e.message);
                } else {
                    prop_assert!(
                        e.message.contains(&format!("`{input}`")),
                        "the message names `{}`: {}",
                        input,
                        e.message
                    );
                }
                prop_assert!(
                    e.message.contains("1 to 60") || e.message.contains("60 seconds"),
                    "the message gives the range: {}",
                    e.message
                );
            }
        }
        Ok(())
    }

    fn check_region(input: &str) -> Result<(), TestCaseError> {
        match Target::parse(input) {
            Ok(target) => {
                prop_assert!(target.api_base.scheme() == "https" || target.is_local());
                // What parses once parses the same from its api host (regions) or URL (local).
                let again = match &target.region {
                    Some(region) => Target::parse(region).unwrap(),
                    None => Target::parse(target.api_base.as_str()).unwrap(),
                };
                prop_assert_eq!(again.api_base, target.api_base);
            }
            Err(e) => {
                let text = e.to_string();
                if input.trim().is_empty() {
                    prop_assert!(text.contains("empty"), "{}", text);
                } else {
                    prop_assert!(text.contains(&format!("`{input}`")), "names it: {}", text);
                }
                prop_assert!(
                    text.contains("eu-west-1"),
                    "shows a valid example: {}",
                    text
                );
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn timeout_errors_name_the_input_and_the_range(text in timeout_like()) {
            check_timeout(&text)?;
        }

        #[test]
        fn timeout_errors_on_any_text_name_the_input(text in "\\PC{0,16}") {
            check_timeout(&text)?;
        }

        #[test]
        fn region_names_in_any_case_and_padding_are_the_same_target(
            index in 0..REGIONS.len(),
            upper in proptest::collection::vec(any::<bool>(), 20),
            pad in "[ \t]{0,2}",
            by_domain in any::<bool>(),
        ) {
            let (name, domain) = REGIONS[index];
            let canonical = Target::parse(name).unwrap();
            let base = if by_domain { domain } else { name };
            let mixed: String = base
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
                .collect();
            let parsed = Target::parse(&format!("{pad}{mixed}{pad}")).unwrap();
            prop_assert_eq!(parsed.api_base, canonical.api_base);
        }

        #[test]
        fn region_errors_name_the_input_and_an_example(
            input in "(https?://|)[a-z0-9.-]{0,20}(:[0-9]{1,5})?(/[a-z]{0,6})?",
        ) {
            check_region(&input)?;
        }

        #[test]
        fn region_errors_on_any_text_name_the_input(input in "\\PC{0,30}") {
            check_region(&input)?;
        }
    }

    /// Cases found while writing the properties above, kept as plain tests.
    #[test]
    fn regressions() {
        for text in [
            "0", "61", "-1", "1.5", "abc", "5000", "1500ms", "", "+", "1m1", "٣",
        ] {
            check_timeout(text).unwrap();
        }
        for input in [
            "mars-1",
            "http://example.com",
            "https://api.mypurecloud.com/some/path",
        ] {
            check_region(input).unwrap();
        }
    }
}
