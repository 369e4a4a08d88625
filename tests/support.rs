//! Shared test fixtures: a sandbox org on 127.0.0.1 and the real `dactl` binary pointed at it.

use std::process::{Command, Output};

use dactl::sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

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

    pub fn url(&self) -> String {
        self.sandbox
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    fn get_json(&self, path: &str) -> Value {
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

    /// Every stored action with its templates' text, as `/sandbox/actions?templates=text` shows it.
    pub fn actions(&self) -> Vec<Value> {
        self.get_json("/sandbox/actions?templates=text")
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
        let stats = self.get_json("/sandbox/stats");
        stats["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                let route = r["route"].as_str().unwrap();
                route.starts_with("/api/v2") && keep(r["method"].as_str().unwrap(), route)
            })
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    }

    /// Writes of any kind (PATCH, POST, PUT) the API received.
    pub fn writes(&self) -> u64 {
        self.count(|method, _| matches!(method, "PATCH" | "POST" | "PUT"))
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
pub fn dactl_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dactl"));
    for var in [
        "GENESYSCLOUD_REGION",
        "GENESYSCLOUD_OAUTHCLIENT_ID",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        "GENESYSCLOUD_ACCESS_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    let home = std::env::temp_dir().join(format!("dactl-test-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    cmd.env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"));
    cmd
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
