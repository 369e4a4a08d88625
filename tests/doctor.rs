//! `dactl doctor` through the real binary, on sandboxes under each platform variant. Its findings
//! are checked against what the sandbox holds (read with plain reqwest, not dactl's client) and
//! against what the sandbox received; its output against every secret, token and template text.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Output;

use dactl::sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::support::{Org, dactl_cmd, stderr, stdout};

const CLIENT: &str = "doctor-client";
const SECRET: &str = "Sec-doctor-0451-canary";
const READER: &str = "doctor-reader";
const READER_SECRET: &str = "Sec-reader-0452-canary";

fn org(variants: &str, actions: Option<usize>) -> Org {
    let mut options = SandboxOptions {
        clients: vec![(CLIENT.into(), SECRET.into())],
        read_only_clients: vec![(READER.into(), READER_SECRET.into())],
        actions,
        ..SandboxOptions::default()
    };
    options.variants.apply(variants).unwrap();
    Org::start(options)
}

/// `dactl --environment URL doctor ARGS...` with these credentials.
fn doctor(org: &Org, id: &str, secret: &str, args: &[&str]) -> Output {
    dactl_cmd()
        .args(["--environment", &org.url(), "doctor"])
        .args(args)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", id)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)
        .output()
        .expect("dactl runs")
}

/// Requests to the API that are not reads: anything but a GET, the analytics query (a POST that
/// reads) aside.
fn writes(org: &Org) -> u64 {
    org.count(|method, route| {
        method != "GET"
            && !(method == "POST" && route == "/api/v2/analytics/actions/aggregates/query")
    })
}

fn json_of(output: &Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(output), stderr(output)))
}

/// Plain HTTP to the sandbox, as a test client of its own.
struct Api<'a> {
    org: &'a Org,
    http: reqwest::Client,
    token: String,
}

impl<'a> Api<'a> {
    fn new(org: &'a Org) -> Api<'a> {
        let http = reqwest::Client::new();
        let token: Value = org.rt.block_on(async {
            http.post(format!("{}/oauth/token", org.url()))
                .basic_auth(CLIENT, Some(SECRET))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        Api {
            org,
            http,
            token: token["access_token"].as_str().unwrap().to_owned(),
        }
    }

    fn send(&self, method: reqwest::Method, path: &str, auth: bool) -> (u16, Value) {
        let url = format!("{}{path}", self.org.url());
        self.org.rt.block_on(async {
            let mut request = self.http.request(method, url);
            if auth {
                request = request.bearer_auth(&self.token);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        })
    }

    /// Every entity of a listing, following `nextUri` (which both paging variants carry).
    fn all(&self, path: &str) -> Vec<Value> {
        let mut next = Some(path.to_owned());
        let mut entities = Vec::new();
        while let Some(uri) = next {
            let (status, page) = self.send(reqwest::Method::GET, &uri, true);
            assert_eq!(status, 200, "{uri}: {page}");
            entities.extend(page["entities"].as_array().unwrap().iter().cloned());
            next = page["nextUri"].as_str().map(str::to_owned);
        }
        entities
    }

    fn create_draft(&self, id: &str) {
        let path = format!("/api/v2/integrations/actions/{id}/draft");
        let (status, body) = self.send(reqwest::Method::POST, &path, true);
        assert_eq!(status, 200, "{body}");
    }

    fn inspect(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, false).1
    }

    fn reset_stats(&self) {
        self.send(reqwest::Method::POST, "/sandbox/stats/reset", false);
    }

    /// Token requests the sandbox answered, by status.
    fn token_requests(&self) -> BTreeMap<u64, u64> {
        let mut by_status = BTreeMap::new();
        for r in self.inspect("/sandbox/stats")["requests"]
            .as_array()
            .unwrap()
        {
            if r["route"] == "/oauth/token" {
                *by_status.entry(r["status"].as_u64().unwrap()).or_default() +=
                    r["count"].as_u64().unwrap();
            }
        }
        by_status
    }
}

/// What doctor should find, worked out from the sandbox with plain reqwest: the listing as the
/// API shows it (config, custom authentication actions), the listing without them, the
/// integrations, and the drafts as stored.
struct Expected {
    by_kind: BTreeMap<&'static str, u64>,
    by_integration: BTreeMap<String, (String, String, u64)>,
    total: u64,
    unset: u64,
    inline: u64,
    uri_only: u64,
    drafts: BTreeMap<String, &'static str>,
    requests: u64,
    function_actions: u64,
}

impl Expected {
    fn of(api: &Api<'_>) -> Expected {
        let listed = api.all(
            "/api/v2/integrations/actions?pageSize=100&includeConfig=true&includeAuthActions=true",
        );
        let visible: BTreeSet<String> = api
            .all("/api/v2/integrations/actions?pageSize=100")
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        let integrations: HashMap<String, (String, String)> = api
            .all("/api/v2/integrations?pageSize=100")
            .iter()
            .map(|i| {
                (
                    i["id"].as_str().unwrap().to_owned(),
                    (
                        i["name"].as_str().unwrap().to_owned(),
                        i["integrationType"]["id"].as_str().unwrap().to_owned(),
                    ),
                )
            })
            .collect();
        let kind = |a: &Value| -> &'static str {
            let id = a["id"].as_str().unwrap();
            let integration = a["integrationId"].as_str().unwrap_or_default();
            if id.starts_with("static") {
                "static"
            } else if !visible.contains(id) {
                "custom_auth"
            } else if integrations
                .get(integration)
                .is_some_and(|(_, t)| t == "function-data-actions")
            {
                "function"
            } else {
                "standard"
            }
        };
        let mut e = Expected {
            by_kind: ["standard", "static", "custom_auth", "function"]
                .into_iter()
                .map(|k| (k, 0))
                .collect(),
            by_integration: BTreeMap::new(),
            total: listed.len() as u64,
            unset: 0,
            inline: 0,
            uri_only: 0,
            drafts: BTreeMap::new(),
            requests: 0,
            function_actions: 0,
        };
        let mut kinds = HashMap::new();
        let mut standard = 0u64;
        let mut template_reads = 0u64;
        // The canary, the first standard action listed: read whole twice, its URI-only
        // templates once more.
        let mut canary_reads = None;
        for a in &listed {
            let k = kind(a);
            kinds.insert(a["id"].as_str().unwrap().to_owned(), k);
            *e.by_kind.get_mut(k).unwrap() += 1;
            let integration = a["integrationId"].as_str().unwrap().to_owned();
            let (name, type_id) = integrations[&integration].clone();
            e.by_integration
                .entry(integration)
                .or_insert((name, type_id, 0))
                .2 += 1;
            let config = &a["config"];
            let mut by_uri = 0;
            for (section, text, uri) in [
                ("request", "requestTemplate", "requestTemplateUri"),
                ("response", "successTemplate", "successTemplateUri"),
            ] {
                if config[section][text].is_string() {
                    e.inline += 1;
                } else if config[section][uri].is_string() {
                    e.uri_only += 1;
                    by_uri += 1;
                }
            }
            if k == "standard" {
                standard += 1;
                template_reads += by_uri;
                canary_reads.get_or_insert(2 + by_uri);
                if config.get("timeoutSeconds").is_none() {
                    e.unset += 1;
                }
            }
        }
        // The budget of "set every standard action", spelled out.
        e.requests = (visible.len() as u64).div_ceil(100)
            + (integrations.len() as u64).div_ceil(100)
            + standard
            + template_reads
            + standard.div_ceil(50)
            + canary_reads.unwrap_or(0);
        e.function_actions = e.by_kind["function"];
        for stored in api.inspect("/sandbox/actions").as_array().unwrap() {
            if stored.get("draft").is_some() {
                let id = stored["id"].as_str().unwrap().to_owned();
                let k = kinds[&id];
                e.drafts.insert(id, k);
            }
        }
        e
    }

    /// `rate`: per token; `tokens`: the pool's size.
    fn check(&self, found: &Value, rate: f64, tokens: u32, variant: &str) {
        let actions = &found["actions"];
        assert_eq!(actions["total"], self.total, "{variant}");
        for (kind, count) in &self.by_kind {
            assert_eq!(actions["by_kind"][kind], *count, "{variant}: {kind}");
        }
        let by_integration: BTreeMap<String, (String, String, u64)> = actions["by_integration"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_str().unwrap().to_owned(),
                    (
                        i["name"].as_str().unwrap().to_owned(),
                        i["type_id"].as_str().unwrap().to_owned(),
                        i["actions"].as_u64().unwrap(),
                    ),
                )
            })
            .collect();
        assert_eq!(by_integration, self.by_integration, "{variant}");
        assert_eq!(actions["unset_timeouts"], self.unset, "{variant}");
        assert_eq!(
            (
                &actions["templates"]["inline"],
                &actions["templates"]["uri_only"]
            ),
            (&json!(self.inline), &json!(self.uri_only)),
            "{variant}"
        );

        let drafts = &found["drafts"];
        let listed: BTreeMap<String, &str> = drafts["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["id"].as_str().unwrap().to_owned(),
                    d["kind"].as_str().unwrap(),
                )
            })
            .collect();
        let wanted: BTreeMap<String, &str> =
            self.drafts.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(listed, wanted, "{variant}");
        assert_eq!(drafts["total"], self.drafts.len(), "{variant}");
        for kind in self.by_kind.keys() {
            let count = self.drafts.values().filter(|k| *k == kind).count();
            assert_eq!(drafts["by_kind"][kind], count, "{variant}: drafts {kind}");
        }

        let estimate = &found["estimate"];
        assert_eq!(estimate["requests"], self.requests, "{variant}: {estimate}");
        assert_eq!(estimate["rate_per_minute"], rate, "{variant}");
        assert_eq!(estimate["tokens"], tokens, "{variant}");
        let minutes = estimate["minutes"].as_f64().unwrap();
        assert!(
            (minutes - self.requests as f64 / (rate * f64::from(tokens))).abs() < 1e-9,
            "{variant}: {minutes} min for {} requests at {rate}/min on {tokens} tokens",
            self.requests
        );
        assert_eq!(estimate["function_actions"], self.function_actions);
        assert_eq!(
            estimate["function_requests"],
            self.function_actions * estimate["function_requests_each"].as_u64().unwrap()
        );
    }
}

/// Everything the output must never hold: the client secrets, every token the sandbox issued,
/// every template's text (published and draft).
fn forbidden(org: &Org, api: &Api<'_>) -> Vec<String> {
    let mut texts = vec![SECRET.to_owned(), READER_SECRET.to_owned()];
    for token in api.inspect("/sandbox/tokens")["tokens"].as_array().unwrap() {
        texts.push(token.as_str().unwrap().to_owned());
    }
    let mut templates = 0;
    for action in org.actions() {
        let draft_config = action["draft"]["config"].clone();
        for config in [&action["config"], &draft_config] {
            for (section, key) in [
                ("request", "requestTemplate"),
                ("response", "successTemplate"),
            ] {
                if let Some(text) = config[section][key].as_str() {
                    texts.push(text.to_owned());
                    templates += 1;
                }
            }
        }
    }
    assert!(templates > 0, "the check covers template text");
    // A text this short could turn up in any output by chance; the seed has none.
    assert!(texts.iter().all(|t| t.len() >= 12), "{texts:?}");
    texts
}

fn assert_nothing_secret(output: &Output, forbidden: &[String], what: &str) {
    let all = format!("{}{}", stdout(output), stderr(output));
    for text in forbidden {
        assert!(
            !all.contains(text.as_str()),
            "{what}: the output holds `{text}`:\n{all}"
        );
    }
}

#[test]
fn findings_match_the_org_under_every_variant_and_nothing_is_written_or_leaked() {
    // The rate per token and the pool: the defaults (300/min, 10 tokens), then given; the
    // estimate's minutes follow both.
    let runs = [
        (
            "templates=uri,paging=page-count,token-error-status=400,percentiles=present",
            None,
            None,
            None,
        ),
        (
            "templates=inline,paging=next-uri,token-error-status=401,percentiles=absent",
            Some(250),
            Some(1200),
            Some(1),
        ),
        (
            "templates=mixed,paging=page-count,token-error-status=401,percentiles=present",
            None,
            Some(3000),
            Some(3),
        ),
    ];
    for (variant, actions, rate, tokens) in runs {
        let org = org(variant, actions);
        let api = Api::new(&org);
        // Someone's unfinished work: drafts of a function data action and a standard action.
        let stored = org.actions();
        let function = stored
            .iter()
            .find(|a| a["function"].is_object())
            .map(|a| a["id"].as_str().unwrap().to_owned());
        let standard = stored
            .iter()
            .find(|a| {
                !a["function"].is_object()
                    && !a["id"].as_str().unwrap().starts_with("static")
                    && !a["name"].as_str().unwrap().contains("Custom Auth")
            })
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .unwrap();
        for id in function.iter().chain([&standard]) {
            api.create_draft(id);
        }
        let expected = Expected::of(&api);
        let draft_kinds: BTreeSet<&str> = expected.drafts.values().copied().collect();
        if actions.is_none() {
            assert_eq!(draft_kinds, BTreeSet::from(["function", "standard"]));
        } else {
            assert!(draft_kinds.contains("standard"), "{draft_kinds:?}");
        }
        api.reset_stats();

        let rate_flag = rate.map(|r: u32| r.to_string());
        let tokens_flag = tokens.map(|t: u32| t.to_string());
        let mut args = vec!["--json"];
        if let Some(flag) = &rate_flag {
            args.extend(["--rate", flag]);
        }
        if let Some(flag) = &tokens_flag {
            args.extend(["--tokens", flag]);
        }
        let output = doctor(&org, CLIENT, SECRET, &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{variant}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("error"), "{}", stderr(&output));
        let found = json_of(&output);

        // The variant values the sandbox was started with, and the two only a write shows.
        let mut wanted = Vec::new();
        for pair in variant.split(',') {
            let (option, value) = pair.split_once('=').unwrap();
            assert_eq!(
                found["variants"][option]["value"], value,
                "{variant}: {}",
                found["variants"]
            );
            wanted.push(pair);
        }
        for option in ["conflict-status", "template-on-missing"] {
            assert_eq!(found["variants"][option]["value"], Value::Null);
            assert_eq!(
                found["variants"][option]["seen"],
                "not visible without a write"
            );
        }
        let reproduce = found["reproduce"].as_str().unwrap();
        let pairs: BTreeSet<&str> = reproduce
            .strip_prefix("--sandbox-variant ")
            .unwrap()
            .split(',')
            .collect();
        assert_eq!(pairs, wanted.into_iter().collect(), "{reproduce}");

        expected.check(
            &found,
            f64::from(rate.unwrap_or(300)),
            tokens.unwrap_or(10),
            variant,
        );
        assert_eq!(found["token"]["lifetime_seconds"], 86399);
        assert_eq!(found["permissions"]["read"]["ok"], true);
        assert_eq!(found["connection"]["client_id"], CLIENT);
        assert_eq!(found["problems"], json!([]));
        let samples = found["latency"]["samples_ms"].as_array().unwrap();
        assert_eq!(samples.len(), 5, "{variant}");
        let median = found["latency"]["median_ms"].as_f64().unwrap();
        let mut sorted: Vec<f64> = samples.iter().map(|s| s.as_f64().unwrap()).collect();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(median, sorted[2], "{variant}: the median of {sorted:?}");

        // Reads only, and exactly two logins: this client's, and the made-up one, refused with
        // the variant's status.
        assert_eq!(writes(&org), 0, "{variant}: doctor sent a write");
        let refused: u64 = found["variants"]["token-error-status"]["value"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            api.token_requests(),
            BTreeMap::from([(200, 1), (refused, 1)]),
            "{variant}"
        );

        // The table (at a high rate: only its text matters here).
        let table = doctor(&org, CLIENT, SECRET, &["--rate", "6000"]);
        assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
        let text = stdout(&table);
        for part in [
            found["connection"]["api_host"].as_str().unwrap(),
            "made on purpose",
            "not visible without a write",
            reproduce,
        ] {
            assert!(
                text.contains(part),
                "{variant}: `{part}` missing from:\n{text}"
            );
        }
        assert_eq!(writes(&org), 0);
        let forbidden = forbidden(&org, &api);
        assert_nothing_secret(&output, &forbidden, variant);
        assert_nothing_secret(&table, &forbidden, variant);
    }
}

#[test]
fn a_wrong_secret_is_a_finding_with_its_fix_and_the_hosts_still_shown() {
    let org = org("token-error-status=401", None);
    let api = Api::new(&org);
    api.reset_stats();
    let wrong = "Sec-wrong-0453-canary";
    let output = doctor(&org, CLIENT, wrong, &["--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let found = json_of(&output);
    let host = org.url().trim_start_matches("http://").to_owned();
    assert_eq!(found["connection"]["api_host"], host);
    assert_eq!(found["connection"]["login_host"], host);
    let error = found["token"]["error"].as_str().unwrap();
    for part in [
        "401",
        "client id or secret is wrong",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
    ] {
        assert!(error.contains(part), "`{part}` missing from: {error}");
    }
    assert!(stderr(&output).contains(error), "the problem on stderr too");
    // The client's own refusal shows the variant: no second failed login is made for it.
    assert_eq!(found["variants"]["token-error-status"]["value"], "401");
    assert_eq!(api.token_requests(), BTreeMap::from([(401, 1)]));
    assert_eq!(
        org.count(|_, _| true),
        0,
        "nothing is sent to the API without a token"
    );
    assert_eq!(
        found["permissions"]["read"]["skipped"],
        "not checked: authentication failed"
    );

    let table = doctor(&org, CLIENT, wrong, &[]);
    assert_eq!(table.status.code(), Some(1));
    let text = stdout(&table);
    for part in [host.as_str(), "FAILED", "client id or secret is wrong"] {
        assert!(text.contains(part), "`{part}` missing from:\n{text}");
    }
    let forbidden = [wrong.to_owned(), SECRET.to_owned()];
    assert_nothing_secret(&output, &forbidden, "json");
    assert_nothing_secret(&table, &forbidden, "table");
}

#[test]
fn a_read_only_client_passes_the_read_check_and_is_told_where_edit_is_granted() {
    let org = org("", None);
    let api = Api::new(&org);
    api.reset_stats();
    let output = doctor(&org, READER, READER_SECRET, &["--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let found = json_of(&output);
    assert_eq!(found["permissions"]["read"]["ok"], true);
    assert_eq!(found["connection"]["client_id"], READER);
    let table = doctor(&org, READER, READER_SECRET, &[]);
    let text = stdout(&table)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for said in [found["permissions"]["edit"].as_str().unwrap(), &text] {
        for part in [
            "cannot be checked without a write",
            "Admin > Roles / Permissions",
            "integrations:action:edit",
        ] {
            assert!(said.contains(part), "`{part}` missing from: {said}");
        }
    }
    assert_eq!(writes(&org), 0, "no write, not even to test");
    assert_nothing_secret(&output, &forbidden(&org, &api), "read-only");
}

#[test]
fn doctor_on_the_in_process_sandbox_names_its_variants() {
    let output = dactl_cmd()
        .args([
            "--sandbox",
            "--sandbox-variant",
            "templates=inline,paging=next-uri,token-error-status=401",
            "doctor",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let found = json_of(&output);
    for (option, value) in [
        ("templates", "inline"),
        ("paging", "next-uri"),
        ("token-error-status", "401"),
    ] {
        assert_eq!(found["variants"][option]["value"], value, "{option}");
    }
    assert_eq!(found["connection"]["region"], Value::Null);
    assert!(found["actions"]["total"].as_u64().unwrap() > 0);
}
