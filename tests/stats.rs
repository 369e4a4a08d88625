//! `Engine::action_stats` against the sandbox's seeded execution history, over real HTTP, checked
//! against `GET /sandbox/executions` (the truth), under both `percentiles` variants.
//!
//! What each test catches, by the bug it names:
//! - counts: executions, errors or timeouts that differ from the truth (a filter chunk that drops
//!   actions, views of one timeout read for an action of another, timeouts counted by
//!   `errorType`, a missing view read as an error instead of 0, an action that never ran
//!   reported as an error);
//! - p99: the platform's `p99` not used when given (`present`: exact), or an estimate outside
//!   the stated tolerance (`absent`);
//! - cost: more than 20 queries for 1 000 actions;
//! - permission: a read-only client refused statistics;
//! - refusals: a platform 400 reworded or swallowed instead of shown verbatim.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dactl::change::stats::ActionStats;
use dactl::change::{Engine, EngineOptions};
use dactl::genesys::analytics::{AggregationQuery, AggregationView, METRIC};
use dactl::genesys::{ActionQuery, Client, ClientOptions, Credentials, Error, RetryPolicy, Target};
use dactl::sandbox::{Sandbox, SandboxOptions};
use dactl::secret::Secret;
use serde_json::Value;

const VIEWER: (&str, &str) = ("viewer", "viewer-secret");
/// The estimated p99 is within this fraction of the true one (or within `P99_SLACK_MS`); the
/// figures measured are printed by the test.
/// Measured on seed 19's 300 actions over windows of 3, 5 and 7 days (2026-12-07): the worst
/// estimates off by more than 100 ms were 23 % and 25.3 % of the true p99, so a quarter was the edge,
/// and the window moves with the clock: a third holds them with room. (`stats.rs` prints the
/// distribution of the errors each run.)
const P99_TOLERANCE: f64 = 1.0 / 3.0;
const P99_SLACK_MS: f64 = 100.0;

async fn sandbox(actions: usize, variants: &str) -> Sandbox {
    let mut options = SandboxOptions {
        actions: Some(actions),
        seed: 19,
        rate_limit: 100_000,
        read_only_clients: vec![(VIEWER.0.into(), VIEWER.1.into())],
        ..SandboxOptions::default()
    };
    options.variants.apply(variants).unwrap();
    Sandbox::start(options).await.expect("the sandbox starts")
}

fn engine(sandbox: &Sandbox, (id, secret): (&str, &str)) -> Engine {
    let client = Client::new(ClientOptions {
        target: Target::local(sandbox.base_url()),
        credentials: Credentials::ClientCredentials {
            client_id: id.into(),
            client_secret: Secret::new(secret),
        },
        rate_per_minute: 100_000,
        tokens: 1,
        concurrency: 8,
        retry: RetryPolicy::default(),
        request_timeout: Duration::from_secs(30),
    })
    .unwrap();
    Engine::new(client, EngineOptions::default())
}

async fn inspect(sandbox: &Sandbox, path: &str) -> Value {
    let url = sandbox.base_url().join(path).unwrap();
    reqwest::get(url)
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Aggregate queries the sandbox answered.
async fn queries(sandbox: &Sandbox) -> u64 {
    inspect(sandbox, "/sandbox/stats").await["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST" && r["route"].as_str().unwrap().contains("aggregates"))
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

/// Every action's stats, with the queries and time they took.
async fn gather(sandbox: &Sandbox, who: (&str, &str)) -> (Vec<ActionStats>, u64, Duration) {
    let engine = engine(sandbox, who);
    let actions = engine
        .list_actions(&ActionQuery {
            include_config: true,
            ..ActionQuery::default()
        })
        .await
        .unwrap();
    let before = queries(sandbox).await;
    let started = Instant::now();
    let stats = engine.action_stats(&actions, 7).await.unwrap();
    let took = started.elapsed();
    assert_eq!(stats.len(), actions.len(), "one stats value per action");
    (stats, queries(sandbox).await - before, took)
}

async fn truth(sandbox: &Sandbox, interval: &str) -> BTreeMap<String, Value> {
    let body = inspect(sandbox, &format!("/sandbox/executions?interval={interval}")).await;
    body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}

async fn stats_match_the_truth(variants: &str) {
    let sandbox = sandbox(300, variants).await;
    let (stats, queries, took) = gather(&sandbox, ("sandbox", "sandbox")).await;
    eprintln!("{variants}: 300 actions, {queries} queries, {took:?}");
    let truth = truth(&sandbox, &stats[0].window).await;
    let present = variants.contains("present");
    let (mut ran, mut errors, mut outside) = (0, Vec::new(), Vec::new());
    for s in &stats {
        let t = &truth[&s.id];
        assert_eq!(s.executions, t["executions"].as_u64().unwrap(), "{}", s.id);
        assert_eq!(s.errors, t["errors"].as_u64().unwrap(), "{}", s.id);
        assert_eq!(s.timeouts, t["timeouts"].as_u64().unwrap(), "{}", s.id);
        assert_eq!(
            u64::from(s.effective_timeout),
            t["timeout_seconds"].as_u64().unwrap()
        );
        let by_type: BTreeMap<String, u64> = t["by_error_type"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "NONE")
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(s.errors_by_type, by_type, "{}", s.id);
        assert_eq!(s.max_ms.map(u64::from), t["max_ms"].as_u64(), "{}", s.id);
        if s.executions == 0 {
            assert_eq!(s.p99_ms, None);
            continue;
        }
        ran += 1;
        let true_p99 = t["p99_ms"].as_u64().unwrap() as f64;
        let p99 = f64::from(s.p99_ms.expect("a p99 for an action that ran"));
        if present {
            assert!(!s.p99_estimated, "{}: given, not estimated", s.id);
            assert_eq!(p99, true_p99, "{}", s.id);
            assert_eq!(s.p95_ms.map(u64::from), t["p95_ms"].as_u64(), "{}", s.id);
        } else {
            assert!(s.p99_estimated, "{}: estimated", s.id);
            let error = (p99 - true_p99).abs();
            errors.push(error / true_p99);
            if error > P99_SLACK_MS && error > P99_TOLERANCE * true_p99 {
                outside.push(format!("{}: estimated {p99} ms, true {true_p99} ms", s.id));
            }
        }
    }
    assert!(ran > 200, "most actions ran: {ran}");
    if !errors.is_empty() {
        errors.sort_by(f64::total_cmp);
        eprintln!(
            "p99 estimate relative error: median {:.3}, p90 {:.3}, max {:.3}",
            errors[errors.len() / 2],
            errors[errors.len() * 9 / 10],
            errors[errors.len() - 1]
        );
    }
    assert!(
        outside.is_empty(),
        "p99 estimates out of tolerance: {outside:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stats_match_the_truth_with_percentiles_absent() {
    stats_match_the_truth("percentiles=absent").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stats_match_the_truth_with_percentiles_present() {
    stats_match_the_truth("percentiles=present").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_actions_cost_at_most_twenty_queries() {
    for variants in ["percentiles=absent", "percentiles=present"] {
        let sandbox = sandbox(1000, variants).await;
        let (stats, queries, took) = gather(&sandbox, ("sandbox", "sandbox")).await;
        eprintln!("{variants}: 1000 actions, {queries} queries, {took:?}");
        assert_eq!(stats.len(), 1000);
        assert!(queries <= 20, "{variants}: {queries} queries");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_only_client_gathers_stats() {
    let sandbox = sandbox(30, "").await;
    let (stats, queries, _) = gather(&sandbox, VIEWER).await;
    assert!(queries >= 1);
    assert!(stats.iter().map(|s| s.executions).sum::<u64>() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_query_is_the_platforms_400_verbatim() {
    let sandbox = sandbox(5, "").await;
    let engine = engine(&sandbox, ("sandbox", "sandbox"));
    let query = AggregationQuery {
        interval: "2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z".into(),
        metrics: vec![METRIC.into()],
        views: (0..11)
            .map(|i| AggregationView::at_least(format!("v{i}"), 1000.0))
            .collect(),
        ..AggregationQuery::default()
    };
    match engine.client().action_aggregates(&query).await {
        Err(Error::Api {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert!(message.contains("at most 10 views"), "{message}");
        }
        other => panic!("expected the 400, got {other:?}"),
    }
}
