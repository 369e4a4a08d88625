//! What overlaps in a run (issue 20), shown by what the sandbox saw, never by time: the
//! integrations read beside the listing (requests in flight together), the other actions'
//! template reads beside the canary, and no other write before the canary is checked (the order
//! of the answers, `/sandbox/exchanges`). Tokens minted together: `pool.rs`. Throughput is the
//! benchmark's to measure (`cargo bench --bench bulk -- 2s`).

use std::collections::HashMap;

use dactl::change::{Kind, Status, Timeout};
use dactl::genesys::ActionQuery;
use dactl::output::{Printer, Verbosity};
use dactl::sandbox::SandboxOptions;
use dactl::session::{Connection, Session, SessionOptions};
use serde_json::Value;

use crate::support::temp_dir;

/// A session on its own sandbox of `actions` actions that records every exchange, each request
/// taking `latency_ms` there; ten tokens, never throttled.
fn session(actions: usize, latency_ms: u64, journal: &std::path::Path) -> Session {
    Session::connect(
        Connection::Sandbox(SandboxOptions {
            actions: Some(actions),
            latency_ms,
            rate_limit: 100_000,
            record_exchanges: true,
            ..SandboxOptions::default()
        }),
        SessionOptions {
            dry_run: false,
            canary: true,
            journal: Some(journal.to_path_buf()),
            rate_per_minute: 100_000,
            tokens: 10,
            concurrency: 0,
            printer: Printer::new(Verbosity::Quiet, false),
            request_timeout: None,
        },
    )
    .unwrap()
}

fn inspect(session: &Session, path: &str) -> Value {
    let url = session.sandbox_url().unwrap().join(path).unwrap();
    session
        .runtime()
        .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

/// (method, path) of every exchange, in the order the sandbox answered them.
fn exchanges(session: &Session) -> Vec<(String, String)> {
    inspect(session, "/sandbox/exchanges")["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The action a path of `/api/v2/integrations/actions/{id}...` is about.
fn action_of(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v2/integrations/actions/")
        .map(|rest| rest.split('/').next().unwrap_or(""))
}

/// The integrations listing (which classifying the actions needs) goes beside the actions'
/// listing, not after it: with both one page, the sandbox has two requests in flight at once.
/// Read one after the other, it never has more than one (the token is minted first, alone).
#[test]
fn the_integrations_are_read_beside_the_listing() {
    let dir = temp_dir("speed-listing");
    let session = session(30, 150, &dir.join("run.jsonl"));
    let listed = session.list_actions(&ActionQuery::default()).unwrap();
    assert_eq!(listed.len(), 30);
    let stats = inspect(&session, "/sandbox/stats");
    let peak = stats["peak_in_flight"].as_u64().unwrap();
    assert!(peak >= 2, "one request at a time: {stats}");
    // Still one request each.
    let sent = exchanges(&session);
    let count = |path: &str| sent.iter().filter(|(m, p)| m == "GET" && p == path).count();
    assert_eq!(count("/api/v2/integrations"), 1, "{sent:?}");
    assert_eq!(count("/api/v2/integrations/actions"), 1, "{sent:?}");
}

/// While the canary is read, written and read back, the other actions' templates are read
/// (answered before the canary's write is); no other action is written before the canary's
/// read-back is answered; and each other action's templates are still read once each: the
/// requests per change are unchanged. Fails with the canary run alone first (no template of
/// another action before the canary's write), or with a write let through early.
#[test]
fn other_reads_go_beside_the_canary_and_no_write_before_it_is_checked() {
    let dir = temp_dir("speed-canary");
    let session = session(24, 40, &dir.join("run.jsonl"));
    let listed = session.list_actions(&ActionQuery::default()).unwrap();
    let standard: Vec<_> = listed
        .into_iter()
        .filter(|a| a.kind == Kind::Standard)
        .collect();
    assert!(standard.len() >= 8, "{}", standard.len());
    let changes = session.update_timeouts(standard, &mut |a| {
        Ok(
            (a.action.config.as_ref().and_then(|c| c.timeout_seconds) != Some(60))
                .then_some(Timeout(60)),
        )
    });
    let updated = changes
        .iter()
        .filter(|c| c.status == Status::Updated)
        .count();
    assert!(updated >= 8, "{changes:?}");
    let canary = session.canary().expect("the run had a canary");
    assert!(canary.passed(), "{canary:?}");

    let sent = exchanges(&session);
    let canary_write = sent
        .iter()
        .position(|(m, p)| m == "PATCH" && action_of(p) == Some(canary.id.as_str()))
        .expect("the canary was written");
    assert_eq!(
        sent.iter().position(|(m, _)| m == "PATCH"),
        Some(canary_write),
        "the canary is the first write: {sent:?}"
    );
    let read_back_done = sent
        .iter()
        .rposition(|(m, p)| m == "GET" && action_of(p) == Some(canary.id.as_str()))
        .unwrap();
    assert!(read_back_done > canary_write, "{sent:?}");
    let is_other = |p: &str| action_of(p).is_some_and(|id| id != canary.id);
    let others_read_before = sent[..canary_write]
        .iter()
        .filter(|(m, p)| m == "GET" && p.contains("/templates/") && is_other(p))
        .count();
    assert!(
        others_read_before > 0,
        "no other action's template was read beside the canary: {sent:?}"
    );
    let early_writes: Vec<_> = sent[..read_back_done]
        .iter()
        .filter(|(m, p)| m != "GET" && is_other(p))
        .collect();
    assert!(
        early_writes.is_empty(),
        "written before the canary was checked: {early_writes:?}"
    );
    let mut templates: HashMap<&str, usize> = HashMap::new();
    for (_, p) in sent
        .iter()
        .filter(|(m, p)| m == "GET" && p.contains("/templates/"))
    {
        *templates.entry(action_of(p).unwrap()).or_default() += 1;
    }
    for change in changes.iter().filter(|c| c.status == Status::Updated) {
        let expected = if change.id == canary.id { 4 } else { 2 };
        assert_eq!(
            templates.get(change.id.as_str()).copied().unwrap_or(0),
            expected,
            "template reads of `{}`: {templates:?}",
            change.id
        );
    }
}
