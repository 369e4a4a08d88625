//! Shared test fixtures: a sandbox org on 127.0.0.1 and the real `dactl` binary pointed at it,
//! and the steps bulk scenarios share (raise, undo, the eligible set, journals, kill -9).

use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use dactl::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

/// A sandbox served on its own runtime for the length of a test.
pub struct Org {
    pub sandbox: Sandbox,
    pub rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Org {
    pub fn start(options: SandboxOptions) -> Org {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = rt
            .block_on(Sandbox::start(options))
            .expect("sandbox starts");
        Org {
            sandbox,
            rt,
            http: reqwest::Client::new(),
        }
    }

    pub fn seed() -> Org {
        Org::start(SandboxOptions::default())
    }

    /// An org of `options` with a rate limit that does not slow tests down (100 000 a minute).
    pub fn unthrottled(options: SandboxOptions) -> Org {
        Org::start(SandboxOptions {
            rate_limit: 100_000,
            ..options
        })
    }

    pub fn url(&self) -> String {
        self.sandbox
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    /// A `/sandbox/...` inspection route (no auth, no faults), as JSON.
    pub fn inspect(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.url());
        self.rt.block_on(async {
            self.http
                .get(&url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }

    /// What the sandbox executed per action over `interval` (`start/end`), keyed by id:
    /// `GET /sandbox/executions`, the truth behind its analytics answers.
    pub fn executions(&self, interval: &str) -> BTreeMap<String, Value> {
        let body = self.inspect(&format!("/sandbox/executions?interval={interval}"));
        assert_eq!(
            body["interval"], interval,
            "the truth covers the window asked"
        );
        body["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["id"].as_str().unwrap().to_owned(), a.clone()))
            .collect()
    }

    /// Every stored action with its templates' text, as `/sandbox/actions?templates=text` shows it.
    pub fn actions(&self) -> Vec<Value> {
        self.inspect("/sandbox/actions?templates=text")
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn action(&self, id: &str) -> Value {
        self.actions()
            .into_iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no action {id}"))
    }

    /// API requests (`/api/v2/...`) the sandbox counted that match `keep(method, route)`.
    pub fn count(&self, keep: impl Fn(&str, &str) -> bool) -> u64 {
        self.count_answers(|method, route, _| keep(method, route))
    }

    /// API requests (`/api/v2/...`) the sandbox counted that match `keep(method, route, status)`
    /// (status 0: the connection was dropped).
    pub fn count_answers(&self, keep: impl Fn(&str, &str, u64) -> bool) -> u64 {
        let stats = self.inspect("/sandbox/stats");
        stats["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                let route = r["route"].as_str().unwrap();
                route.starts_with("/api/v2")
                    && keep(
                        r["method"].as_str().unwrap(),
                        route,
                        r["status"].as_u64().unwrap(),
                    )
            })
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    }

    /// Another editor changes an action: its name gains ` (edited)` and its version rises.
    pub fn edit(&self, id: &str) {
        let url = format!("{}/sandbox/actions/{id}/edit", self.url());
        let status = self
            .rt
            .block_on(async { self.http.post(&url).send().await.unwrap().status() });
        assert!(status.is_success(), "{status}");
    }

    /// Writes of any kind (PATCH, POST, PUT, DELETE) the API received.
    pub fn writes(&self) -> u64 {
        self.count(|method, _| matches!(method, "PATCH" | "POST" | "PUT" | "DELETE"))
    }

    /// `/api/v2/integrations/actions/{id}`.
    pub fn action_path(&self, id: &str) -> String {
        format!("{}/api/v2/integrations/actions/{id}", self.url())
    }

    /// The sandbox's API with its own token (plain reqwest: not dactl's client), as another admin
    /// would use it: the status and the body (`null` when it is not JSON).
    pub fn api(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let token: Value = self
                .http
                .post(format!("{}/oauth/token", self.url()))
                .basic_auth("sandbox", Some("sandbox"))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut request = self
                .http
                .request(method, url)
                .bearer_auth(token["access_token"].as_str().unwrap());
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        })
    }

    /// A function data action of the org, as stored.
    pub fn function_action(&self) -> Value {
        self.actions()
            .into_iter()
            .find(|a| a["function"].is_object())
            .expect("the org has function data actions")
    }

    /// The `dactl` binary pointed at this org with its default client.
    pub fn dactl(&self, args: &[&str]) -> Output {
        dactl_cmd()
            .args(["--environment", &self.url()])
            .args(args)
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
            .output()
            .expect("dactl runs")
    }
}

/// The `dactl` binary with a clean environment: no credentials, no region, a temporary home.
///
/// `DACTL_TEST_BIN` runs the tests against another build (e.g. a release, to see that a new test
/// fails on it).
pub fn dactl_cmd() -> Command {
    let bin = std::env::var_os("DACTL_TEST_BIN").unwrap_or(env!("CARGO_BIN_EXE_dactl").into());
    let mut cmd = Command::new(bin);
    for var in [
        "GENESYSCLOUD_REGION",
        "GENESYSCLOUD_OAUTHCLIENT_ID",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        "GENESYSCLOUD_ACCESS_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    let home = test_home();
    cmd.env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"));
    cmd
}

/// This test process's own folder, removed when the process exits: the home of every `dactl` it
/// runs (`home/`) and `scratch` files. A static is never dropped, so the removal is an `atexit`
/// handler: it runs however the harness ends (failed tests included); only a process killed by a
/// signal leaves the folder behind.
fn process_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    extern "C" fn remove() {
        if let Some(dir) = DIR.get() {
            let _ = std::fs::remove_dir_all(dir.path());
        }
    }
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("dactl-tests-")
            .tempdir()
            .expect("a temporary folder for this test process");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        // SAFETY: `remove` is a plain function that only reads the static above.
        unsafe { libc::atexit(remove) };
        dir
    })
    .path()
}

/// The home folder of every `dactl` this process runs: one per process (so tokens, config and
/// default journals of one test run never meet another's).
fn test_home() -> PathBuf {
    process_dir().join("home")
}

/// A path no one else uses (`{name}-{random}`), in a folder removed when the test process exits:
/// for a file that must outlive the statement that names it (a session's journal), where a
/// `temp_dir` would have to be kept alongside.
pub fn scratch(name: &str) -> PathBuf {
    process_dir().join(format!("{name}-{}", fastrand::u64(..)))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What changed between two `/sandbox/actions` snapshots: for each action whose JSON differs,
/// its id and the JSON paths that differ.
pub fn diff(before: &[Value], after: &[Value]) -> Vec<(String, Vec<String>)> {
    fn walk(path: String, a: &Value, b: &Value, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let null = Value::Null;
                    walk(
                        format!("{path}.{k}"),
                        x.get(k).unwrap_or(&null),
                        y.get(k).unwrap_or(&null),
                        out,
                    );
                }
            }
            _ if a != b => out.push(path),
            _ => {}
        }
    }
    assert_eq!(before.len(), after.len(), "actions were added or removed");
    let mut changed = Vec::new();
    for (a, b) in before.iter().zip(after) {
        assert_eq!(
            a["id"], b["id"],
            "the sandbox lists actions in a stable order"
        );
        let mut paths = Vec::new();
        walk(String::new(), a, b, &mut paths);
        if !paths.is_empty() {
            changed.push((a["id"].as_str().unwrap().to_owned(), paths));
        }
    }
    changed
}

// ---------------------------------------------------------------------------------------------
// Steps bulk scenarios share

/// The reusable raise script: `--arg target=T`, `--arg unset=set`.
pub const RAISE: &str = "scripts/raise-timeouts.rhai";

/// A fresh, empty folder under the temporary directory (for journals, plans, scripts, homes),
/// removed with everything in it when the value is dropped. Bind it (`let dir = temp_dir(..)`)
/// for as long as anything uses the folder, processes the test started included: a bare
/// `temp_dir(..).join(..)` removes the folder at the end of the statement.
#[must_use = "the folder is removed when this value is dropped"]
pub fn temp_dir(name: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("dactl-test-{name}-"))
        .tempdir()
        .expect("a temporary folder");
    TempDir(dir)
}

/// A folder of `temp_dir`: reads as its `Path`; removed when dropped.
pub struct TempDir(tempfile::TempDir);

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `/sandbox/actions` without versions (undo moves versions on; nothing else may differ).
pub fn without_versions(actions: &[Value]) -> Vec<Value> {
    actions
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.as_object_mut().unwrap().remove("version");
            a
        })
        .collect()
}

pub fn timeout(action: &Value) -> Option<i64> {
    action["config"]["timeoutSeconds"].as_i64()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

pub fn assert_code(output: &Output, expected: i32) {
    assert_eq!(
        code(output),
        expected,
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// A journal's lines, parsed.
pub fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `dactl` against `org`, allowed as many requests a minute as the org.
pub fn dactl(org: &Org, args: &[&str]) -> Output {
    let mut all = vec!["--rate", "100000"];
    all.extend_from_slice(args);
    org.dactl(&all)
}

/// `dactl` against `org` as the client `id`:`secret`, allowed as many requests a minute as the
/// org.
pub fn dactl_as(org: &Org, (id, secret): (&str, &str), args: &[&str]) -> Output {
    dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "100000"])
        .args(args)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", id)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)
        .output()
        .expect("dactl runs")
}

/// The JSON report `--json` prints as the last line of stdout.
pub fn report(output: &Output) -> Value {
    let text = stdout(output);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Every standard action below `target` goes to `target`, unset ones too (`--arg unset=set`), so
/// that undo has timeouts to remove again as well as ones to put back.
pub fn raise(org: &Org, journal: &Path, target: &str) -> Output {
    dactl(
        org,
        &[
            "--journal",
            path(journal),
            "run",
            RAISE,
            "--arg",
            &format!("target={target}"),
            "--arg",
            "unset=set",
        ],
    )
}

/// `dactl undo JOURNAL`, journaling the undo to `undo_journal`.
pub fn undo(org: &Org, journal: &Path, undo_journal: &Path) -> Output {
    dactl(
        org,
        &["--journal", path(undo_journal), "undo", path(journal)],
    )
}

/// Kinds by id, from `dactl actions list --json`, in the order the API lists the actions.
pub fn kinds(org: &Org) -> HashMap<String, String> {
    listed_kinds(org).into_iter().collect()
}

/// (id, kind) of every listed action, in the order the API lists them (by name).
pub fn listed_kinds(org: &Org) -> Vec<(String, String)> {
    let list = dactl(org, &["--json", "actions", "list"]);
    assert_code(&list, 0);
    let all: Vec<Value> = serde_json::from_str(&stdout(&list)).unwrap();
    all.iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Standard actions with a timeout below `target`, and with `unset` those with none: what the
/// raise script changes (unset ones only with `--arg unset=set`).
pub fn eligible(
    before: &[Value],
    kinds: &HashMap<String, String>,
    target: i64,
    unset: bool,
) -> Vec<String> {
    before
        .iter()
        .filter(|a| kinds.get(a["id"].as_str().unwrap()).map(String::as_str) == Some("standard"))
        .filter(|a| timeout(a).map_or(unset, |t| t < target))
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks the end state of a bulk run: every target at `timeout`; of the rest nothing changed;
/// a changed action differs only in `timeoutSeconds` and `version` (+1 exactly), plus the name
/// for actions in `edited` (another editor's change, which must survive). Template text is
/// compared too where the snapshots carry it (`Org::actions` does).
pub fn assert_only_intended(
    before: &[Value],
    after: &[Value],
    targets: &[String],
    timeout: u32,
    edited: &[String],
) {
    let by_id = |list: &[Value], id: &str| list.iter().find(|a| a["id"] == id).unwrap().clone();
    for id in targets {
        assert_eq!(
            by_id(after, id)["config"]["timeoutSeconds"],
            timeout,
            "target {id} was raised"
        );
    }
    for (id, paths) in diff(before, after) {
        assert!(
            targets.contains(&id),
            "{id} was not a target, yet {paths:?} changed"
        );
        let edited_here = edited.contains(&id);
        for path in &paths {
            let allowed = path == ".config.timeoutSeconds"
                || path == ".version"
                || (edited_here && path == ".name");
            assert!(allowed, "{id}: {path} changed");
        }
        let (old, new) = (
            by_id(before, &id)["version"].as_i64().unwrap(),
            by_id(after, &id)["version"].as_i64().unwrap(),
        );
        // One write of ours, plus one for another editor's change.
        let expected = 1 + i64::from(edited_here);
        assert_eq!(new - old, expected, "{id}: version {old} → {new}");
    }
}

/// Every intent has an outcome line after it (draft lines aside).
pub fn assert_complete(journal: &[Value]) {
    let mut open: HashMap<String, usize> = Default::default();
    for line in journal {
        let id = line["action_id"].as_str().unwrap().to_owned();
        match line["kind"].as_str().unwrap() {
            "intent" => *open.entry(id).or_default() += 1,
            "outcome" => *open.get_mut(&id).expect("an outcome follows its intent") -= 1,
            _ => {}
        }
    }
    assert!(open.values().all(|n| *n == 0), "{open:?}");
}

/// `dactl` against `org`, started in the background.
pub fn spawn(org: &Org, args: &[&str]) -> std::process::Child {
    dactl_cmd()
        .args(["--environment", &org.url()])
        .args(args)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the journal holds at least `n` intent lines.
pub fn wait_for_intents(journal: &Path, n: usize) {
    let start = std::time::Instant::now();
    loop {
        let count = std::fs::read_to_string(journal)
            .map(|t| t.matches("\"kind\":\"intent\"").count())
            .unwrap_or(0);
        if count >= n {
            return;
        }
        assert!(
            start.elapsed().as_secs() < 60,
            "the run never wrote {n} intents"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

pub fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The kill -9 scenario: a raise to `target` (unset ones too) is killed after `kill_after`
/// intents; a re-run finishes exactly the rest (nothing twice); undoing both journals, the
/// re-run's first, brings every action back to how it was before (versions aside). `extra` goes
/// before the killed run's command (e.g. `--concurrency 2`, to slow it). Journals go to `dir`.
pub fn kill_rerun_undo(org: &Org, dir: &Path, target: i64, kill_after: usize, extra: &[&str]) {
    let kinds = kinds(org);
    let start = org.actions();
    let first = dir.join("killed.jsonl");
    let target_arg = format!("target={target}");
    let mut args = vec!["--rate", "100000", "--journal", path(&first)];
    args.extend_from_slice(extra);
    args.extend(["run", RAISE, "--arg", &target_arg, "--arg", "unset=set"]);
    let child = spawn(org, &args);
    wait_for_intents(&first, kill_after);
    signal(&child, "-KILL");
    let _ = child.wait_with_output().unwrap();
    // A request the sandbox was still delaying when the client died may yet land: let it.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let partly = org.actions();
    let eligible = eligible(&start, &kinds, target, true);
    let done = eligible
        .iter()
        .filter(|id| {
            timeout(partly.iter().find(|a| a["id"] == id.as_str()).unwrap()) == Some(target)
        })
        .count();
    assert!(
        done < eligible.len(),
        "the kill came too late to test anything ({done} of {} done)",
        eligible.len()
    );

    // Re-running finishes the rest and changes nothing twice.
    let second = dir.join("rerun.jsonl");
    assert_code(&raise(org, &second, &target.to_string()), 0);
    let rerun: Vec<String> = lines(&second)
        .iter()
        .filter(|l| l["kind"] == "intent")
        .map(|l| l["action_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rerun.len(), eligible.len() - done);
    let raised = org.actions();
    for id in &eligible {
        let action = raised.iter().find(|a| a["id"] == id.as_str()).unwrap();
        assert_eq!(timeout(action), Some(target), "{id}");
    }

    for journal in [&second, &first] {
        assert_code(&undo(org, journal, &dir.join("undo-kill.jsonl")), 0);
    }
    assert_eq!(without_versions(&org.actions()), without_versions(&start));
}

/// Someone else's unfinished work: a draft of `id` with another request URL.
pub fn foreign_draft(org: &Org, id: &str) {
    let base = org.action_path(id);
    let (status, draft) = org.api(reqwest::Method::POST, &format!("{base}/draft"), None);
    assert_eq!(status, 200, "{draft}");
    let (_, read) = org.api(
        reqwest::Method::GET,
        &format!("{base}/draft?includeConfig=true"),
        None,
    );
    let mut config = read["config"].clone();
    config["request"]["requestUrlTemplate"] = json!("https://someone-elses.example/unfinished");
    // Template text travels with the config, as a careful editor's would.
    let stored = org.action(id);
    for (section, key) in [
        ("request", "requestTemplate"),
        ("response", "successTemplate"),
    ] {
        config[section][key] = stored["config"][section][key].clone();
    }
    let (status, body) = org.api(
        reqwest::Method::PATCH,
        &format!("{base}/draft"),
        Some(json!({"version": read["version"], "config": config})),
    );
    assert_eq!(status, 200, "{body}");
}
