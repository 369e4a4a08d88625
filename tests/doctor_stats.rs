//! `dactl doctor`'s section "Executions, last 7 days" through the real binary, checked against the
//! sandbox's truth (`GET /sandbox/executions` over the window doctor read, with plain reqwest) and
//! against what the sandbox counted.
//!
//! What each test catches, by the bug it names:
//! - totals: executions, errors or timeouts that differ from the sum of the truth (an action left
//!   out of the queries, custom authentication actions dropped, a chunk lost);
//! - timed out: the list is not exactly the truth's actions with `timeouts > 0` (timeouts counted
//!   by `errorType`, which also holds fast 504s), or not worst first;
//! - near timeout: the threshold read in seconds or at another fraction, `>` for `>=`, an
//!   estimated p99 not marked as estimated;
//! - budget: a query count that is not what the sandbox received;
//! - variant: `percentiles` reported other than the sandbox plays it;
//! - table: more than ten rows per list, no "and N more", or rows of another order than the JSON;
//! - read-only: the section needing edit permission;
//! - refusal: a refused query (403, 400) ending doctor or making it exit 1, the platform's message
//!   reworded or lost, the permission not named, later checks skipped.

use std::net::SocketAddr;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dactl::sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::support::{Org, dactl_cmd, stderr, stdout};

const CLIENT: (&str, &str) = ("stats-client", "Sec-stats-0461-canary");
const READER: (&str, &str) = ("stats-reader", "Sec-stats-0462-canary");
const ANALYTICS: &str = "/api/v2/analytics/actions/aggregates/query";
/// `dactl::doctor::LISTED`, spelled out: a change of it must be seen here.
const LISTED: usize = 10;

fn org(variants: &str, actions: Option<usize>) -> Org {
    let mut options = SandboxOptions {
        clients: vec![(CLIENT.0.into(), CLIENT.1.into())],
        read_only_clients: vec![(READER.0.into(), READER.1.into())],
        actions,
        rate_limit: 100_000,
        ..SandboxOptions::default()
    };
    options.variants.apply(variants).unwrap();
    Org::start(options)
}

/// `dactl --environment URL --rate 100000 doctor ARGS...` as `who`.
fn doctor(url: &str, (id, secret): (&str, &str), args: &[&str]) -> Output {
    dactl_cmd()
        .args(["--environment", url, "--rate", "100000", "doctor"])
        .args(args)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", id)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)
        .output()
        .expect("dactl runs")
}

fn json_of(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(output),
        stderr(output)
    );
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(output), stderr(output)))
}

fn u(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

/// Analytics queries the sandbox answered.
fn queries(org: &Org) -> u64 {
    org.count(|method, route| method == "POST" && route == ANALYTICS)
}

/// (id, timeouts) of a list of the section.
fn timeouts_of(list: &Value) -> Vec<(String, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_owned(), u(&a["timeouts"])))
        .collect()
}

/// The rows of the table's part that starts with `title`, up to the blank line after it.
fn part<'a>(table: &'a str, title: &str) -> &'a str {
    let start = table
        .find(title)
        .unwrap_or_else(|| panic!("`{title}` missing from:\n{table}"));
    let rest = &table[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// Checks the section of `found` against the truth, under `variant` (`present` or `absent`).
fn check_section(org: &Org, found: &Value, variant: &str, queries_seen: u64) {
    let e = &found["executions"];
    let window = e["window"].as_str().unwrap_or_else(|| panic!("{e}"));
    let truth = org.executions(window);
    let sum = |key: &str| truth.values().map(|t| u(&t[key])).sum::<u64>();

    // Every action of the org was asked about, custom authentication ones included.
    assert_eq!(u(&e["actions"]), truth.len() as u64, "{variant}");
    assert_eq!(u(&e["executions"]), sum("executions"), "{variant}");
    assert_eq!(u(&e["errors"]), sum("errors"), "{variant}");
    assert_eq!(u(&e["timeouts"]), sum("timeouts"), "{variant}");
    assert!(u(&e["timeouts"]) > 0, "{variant}: the seed has timeouts");
    let ran = truth.values().filter(|t| u(&t["executions"]) > 0).count();
    assert_eq!(u(&e["actions_executed"]), ran as u64, "{variant}");

    // Timed out: exactly the truth's actions with timeouts, worst first.
    let listed = timeouts_of(&e["timed_out"]);
    let mut wanted: Vec<(String, u64)> = truth
        .iter()
        .filter(|(_, t)| u(&t["timeouts"]) > 0)
        .map(|(id, t)| (id.clone(), u(&t["timeouts"])))
        .collect();
    wanted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(listed, wanted, "{variant}: timed out");

    // Near timeout: p99 >= 0.8 × timeout × 1000.
    let near = e["near_timeout"].as_array().unwrap();
    for a in near {
        let id = a["id"].as_str().unwrap();
        let timeout_ms = u(&truth[id]["timeout_seconds"]) * 1000;
        assert_eq!(u(&a["effective_timeout"]) * 1000, timeout_ms, "{id}");
        assert_eq!(
            a["p99_estimated"],
            variant == "absent",
            "{variant}: {id} marked as estimated only when the platform gave no p99"
        );
        assert!(
            u(&a["p99_ms"]) * 5 >= timeout_ms * 4,
            "{variant}: {id}: {a} is not near its timeout"
        );
    }
    let near_ids: Vec<&str> = near.iter().map(|a| a["id"].as_str().unwrap()).collect();
    // The truth's actions whose p99 is at least `at(timeout ms)`.
    let truth_near = |at: &dyn Fn(u64) -> u64| -> Vec<&str> {
        truth
            .iter()
            .filter(|(_, t)| {
                let timeout_ms = u(&t["timeout_seconds"]) * 1000;
                t["p99_ms"]
                    .as_u64()
                    .is_some_and(|p99| p99 >= at(timeout_ms))
            })
            .map(|(id, _)| id.as_str())
            .collect()
    };
    if variant == "present" {
        // Given p99s: exactly the truth's set (0.8 × timeout, in ms, rounded up). The org has
        // actions between 80 % and 90 %, so a threshold at another fraction is seen.
        let between = truth_near(&|ms| (ms * 4).div_ceil(5)).len()
            - truth_near(&|ms| (ms * 9).div_ceil(10)).len();
        assert!(between > 0, "no p99 between 80 % and 90 % of its timeout");
        let mut sorted = near_ids.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            truth_near(&|ms| (ms * 4).div_ceil(5)),
            "{variant}: near timeout"
        );
    } else {
        // Estimated p99s: every action cut at its p99 (at least 1 % of its executions timed
        // out) is listed: the timeout's view puts the estimate at or over `timeout − 50 ms`.
        for id in truth_near(&|ms| ms - 50) {
            assert!(
                near_ids.contains(&id),
                "{variant}: {id} missing: {near_ids:?}"
            );
        }
    }
    assert!(!near_ids.is_empty(), "{variant}: the seed has slow actions");

    // The budget is what the sandbox received.
    assert_eq!(
        u(&e["queries"]),
        queries_seen,
        "{variant}: the query budget"
    );
    assert!(queries_seen >= 1);

    assert_eq!(
        found["variants"]["percentiles"]["value"], variant,
        "{}",
        found["variants"]["percentiles"]
    );
}

#[test]
fn the_executions_section_matches_the_truth_under_both_percentiles_variants() {
    // 400 generated actions (more than ten time out: the table's "and N more"; some have a p99
    // between 80 % and 90 % of their timeout) and the seed org (40 actions, 7 of which time out).
    for (variant, actions) in [("present", Some(400)), ("absent", None)] {
        let org = org(&format!("percentiles={variant}"), actions);
        let output = doctor(&org.url(), CLIENT, &["--json"]);
        let found = json_of(&output);
        assert_eq!(found["problems"], json!([]), "{variant}");
        check_section(&org, &found, variant, queries(&org));
        let e = &found["executions"];
        assert_eq!(e["days"], 7);

        let before = queries(&org);
        let table = doctor(&org.url(), CLIENT, &[]);
        assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
        let text = stdout(&table);
        assert!(text.contains("Executions, last 7 days"), "{text}");
        let cost = queries(&org) - before;
        assert!(
            text.contains(&format!("{cost} analytics queries for")),
            "{variant}: the budget line holds the {cost} queries sent:\n{text}"
        );
        // The table's own run: its rows are its JSON's first ten, in order (the window moved by
        // seconds, which changes no list of the seed's history).
        let timed_out = timeouts_of(&e["timed_out"]);
        let rows = part(&text, "Timed out, most timeouts first");
        let shown: Vec<&str> = rows
            .lines()
            .filter_map(|line| line.split_whitespace().last())
            .filter(|word| word.len() == 36)
            .collect();
        let first: Vec<&str> = timed_out
            .iter()
            .take(LISTED)
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(shown, first, "{variant}:\n{rows}");
        if timed_out.len() > LISTED {
            let more = format!("... and {} more", timed_out.len() - LISTED);
            assert!(rows.contains(&more), "{variant}: `{more}` missing:\n{rows}");
        } else {
            assert!(variant == "absent", "400 actions: more than ten time out");
            assert!(!rows.contains("more"), "{rows}");
        }
        let near = part(&text, "Near timeout, closest first");
        let rows_near = near.lines().count() - 2;
        assert_eq!(
            rows_near,
            e["near_timeout"].as_array().unwrap().len().min(LISTED)
                + usize::from(near.contains("... and")),
            "{variant}:\n{near}"
        );
        assert_eq!(
            near.contains('~'),
            variant == "absent",
            "{variant}: estimated p99s marked:\n{near}"
        );
    }
}

#[test]
fn a_read_only_client_gets_the_executions_section() {
    let org = org("percentiles=present", Some(400));
    let found = json_of(&doctor(&org.url(), READER, &["--json"]));
    assert_eq!(found["connection"]["client_id"], READER.0);
    assert_eq!(found["problems"], json!([]));
    check_section(&org, &found, "present", queries(&org));
}

// ---------------------------------------------------------------------------------------------
// A refused query: a proxy in front of the sandbox answers the analytics query itself.

/// Forwards every request to the sandbox but the analytics query, which it refuses with
/// `status` and the platform's error body; counts the queries it refused.
struct Refusing {
    target: String,
    http: reqwest::Client,
    status: StatusCode,
    body: Value,
    refused: AtomicU64,
}

async fn forward(State(proxy): State<Arc<Refusing>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    if parts.method == axum::http::Method::POST && parts.uri.path() == ANALYTICS {
        proxy.refused.fetch_add(1, Ordering::Relaxed);
        return (proxy.status, axum::Json(proxy.body.clone())).into_response();
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut sent = proxy
        .http
        .request(parts.method.clone(), format!("{}{path}", proxy.target))
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            sent = sent.header(name, value);
        }
    }
    let answer = sent.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

/// The proxy's base URL, and the proxy (for its count).
fn refusing(org: &Org, status: u16, code: &str, message: &str) -> (String, Arc<Refusing>) {
    let proxy = Arc::new(Refusing {
        target: org.url(),
        http: reqwest::Client::new(),
        status: StatusCode::from_u16(status).unwrap(),
        body: json!({
            "message": message,
            "code": code,
            "status": status,
            "contextId": "ctx-refused-0463",
            "details": [],
            "errors": [],
        }),
        refused: AtomicU64::new(0),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let listener = org
        .rt
        .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    org.rt
        .spawn(async move { axum::serve(listener, app).await });
    (url, proxy)
}

#[test]
fn a_refused_statistics_query_is_a_finding_not_a_failure() {
    let refusals = [
        (
            403,
            "missing.any.permissions",
            "Unable to perform the requested action. You must have at least one of the following \
             permissions assigned: [integrations:action:view, bridge:actions:view]",
        ),
        (
            400,
            "bad.request",
            "The filter has too many predicates: at most 50 are allowed (sent 100)",
        ),
    ];
    let org = org("percentiles=present", None);
    // What doctor finds without a refusal: the other sections must not change with one.
    let plain = json_of(&doctor(&org.url(), CLIENT, &["--json"]));
    for (status, code, message) in refusals {
        let (url, proxy) = refusing(&org, status, code, message);
        let output = doctor(&url, CLIENT, &["--json"]);
        let found = json_of(&output);
        assert_eq!(found["problems"], json!([]), "{status}: not a problem");
        assert!(stderr(&output).is_empty(), "{status}: {}", stderr(&output));
        let e = &found["executions"];
        assert_eq!(e["status"], status, "{e}");
        assert_eq!(e["code"], code, "{e}");
        assert_eq!(
            e["message"], message,
            "{status}: the platform's words, verbatim"
        );
        let refused = e["refused"].as_str().unwrap();
        for part in [message, "integrations:action:view", "was refused"] {
            assert!(
                refused.contains(part),
                "{status}: `{part}` missing: {refused}"
            );
        }
        // One query, not retried, and counted.
        assert_eq!(proxy.refused.load(Ordering::Relaxed), 1, "{status}");
        assert_eq!(e["queries"], 1, "{status}");
        // The checks before and after the query were made, as without a refusal.
        assert_eq!(found["actions"], plain["actions"], "{status}");
        assert_eq!(
            found["variants"]["token-error-status"]["value"],
            plain["variants"]["token-error-status"]["value"],
            "{status}: the failed login made on purpose still made"
        );
        assert!(found["variants"]["token-error-status"]["value"].is_string());
        let percentiles = &found["variants"]["percentiles"];
        assert_eq!(percentiles["value"], Value::Null, "{status}");
        assert!(
            percentiles["seen"].as_str().unwrap().contains("refused"),
            "{percentiles}"
        );

        let table = doctor(&url, CLIENT, &[]);
        assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
        let text = stdout(&table)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for part in [message, "`integrations:action:view`", "Platform variants"] {
            assert!(text.contains(part), "{status}: `{part}` missing: {text}");
        }
    }
}
