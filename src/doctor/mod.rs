//! `dactl doctor`: what a doctor run finds about an org, without changing anything.
//!
//! A [`Findings`] value is built by one async pass over the session's client ([`Findings::gather`])
//! and shown as a sectioned table ([`fmt::Display`]) or as one JSON object ([`Findings::to_json`]),
//! the same findings either way. It is meant for the first contact with a real org and for bug
//! reports, so it must be safe to paste: it holds no secret, no token and no template text (it
//! counts templates, it never keeps their text), only hosts, the client id, counts, ids, names and
//! the server's error messages.
//!
//! What it sends, in order (reads and token requests only: no PATCH, PUT or DELETE to `/api/v2`,
//! and no POST but the analytics query, which reads):
//! 1. one token request for the configured client (the token's lifetime, or the exact failure,
//!    whose message says how to fix it). When it fails, nothing else is sent: every other check
//!    would fail the same way. The region and hosts are still shown; exit 1.
//! 2. five light reads, `GET .../actions?pageSize=1`: the first is the read-permission check
//!    and shows which paging fields a listing carries; all five give the round trip (median).
//!    The client's rate limiter spaces requests (`60 / --rate` s apart), so each read waits that
//!    long after the previous one finished and the time measured is the round trip, not the
//!    limiter's wait.
//! 3. the listing with config and custom authentication actions, classified as every command
//!    classifies (`Engine::list_actions`: a second, config-less listing and the integrations
//!    listing); the integrations listing again for names (the classifier keeps only types);
//!    the drafts listing (`GET .../actions/drafts`).
//! 4. the execution statistics of every listed action over the last [`STATS_DAYS`] days
//!    (`Engine::action_stats`: `POST /api/v2/analytics/actions/aggregates/query`, about two
//!    queries per 100 actions): total executions, the actions that timed out, the actions whose
//!    p99 is within [`NEAR_TIMEOUT`] of their timeout, and the queries that cost. The answers
//!    show the `percentiles` variant (whether the platform fills p95/p99). A refused query (a
//!    403 for a missing permission, a 400) is a finding with the platform's message and the
//!    permissions needed ([`STATS_PERMISSIONS`]), not a failure: doctor goes on and exits 0 for
//!    it. Statistics are an extra; the checks a change needs are the others.
//! 5. one token request with a made-up client id and a random secret, on purpose: how the login
//!    host refuses bad credentials (400 or 401) is one of the platform's unconfirmed behaviours.
//!    The output says this failed login was made on purpose. Skipped when step 1 already failed
//!    with `invalid_client`, which shows the same thing.
//!
//! Edit permission cannot be checked without a write (the API has no dry-run PATCH), so the
//! findings say where to look instead. The same holds for two of the platform variants
//! (`conflict-status`, `template-on-missing`); the others are named with the values of
//! `platform::variants::VARIANTS`, so `--sandbox-variant` can reproduce the org.
//!
//! The cost estimate is the request budget of "set every standard action" as the change engine
//! spends it (see [`Estimate`]); its time is [`minutes`] of (requests, rate), the least time the
//! rate limits allow on the configured pool.
//!
//! - `findings`: what a run found, as values (and as JSON); the cost estimate.
//! - `probe`: the checks, reads and token requests only.
//! - `report::doctor` draws the findings as a sectioned table.

mod findings;
mod probe;

pub use findings::*;

/// Where a missing edit permission is fixed; the findings say it because it cannot be tested.
pub const EDIT_PERMISSION: &str = "Edit permission cannot be checked without a write, and doctor \
    writes nothing. Check it in Admin > Roles / Permissions: the role of this OAuth client needs \
    `integrations:action:edit` (and `integrations:actionFunction:edit` for function data actions).";

/// What a variant that only a write would show says.
pub const NOT_VISIBLE: &str = "not visible without a write";

/// The executions section reads this many days back.
pub const STATS_DAYS: u32 = 7;

/// An action whose p99 is at least this fraction of its effective timeout is listed as near it.
pub const NEAR_TIMEOUT: f64 = 0.8;

/// Actions the table lists per list of the executions section; the rest are counted ("and N
/// more"). The JSON carries every one.
pub const LISTED: usize = 10;

/// The permissions the analytics aggregates query needs, any one of them (the notes' "Execution
/// statistics (analytics)": the same as reading actions, not an `analytics:*` permission).
pub const STATS_PERMISSIONS: &[&str] = &["integrations:action:view", "bridge:actions:view"];

/// Light reads timed for the round trip.
pub const LATENCY_READS: usize = 5;

/// Reads the canary (the run's first write, see `change::canary`) adds: its action read whole
/// before and after the write. Its templates named only by URI are read once more on top.
pub const CANARY_READS: u64 = 2;

/// Requests one function data action's timeout change costs: read the published version, create
/// the draft, read and put its function settings, validate, read the version again, publish, and
/// read the settings back.
pub const FUNCTION_REQUESTS_EACH: u64 = 8;

/// The least time `requests` take at `rate_per_minute` on each of `tokens` tokens, in minutes:
/// what the rate limits allow (the platform counts its limit per token).
pub fn minutes(requests: u64, rate_per_minute: u32, tokens: usize) -> f64 {
    requests as f64 / (f64::from(rate_per_minute.max(1)) * tokens.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::probe::*;
    use super::*;
    use crate::change::{ActionInfo, Kind};
    use crate::genesys::models::ActionConfig;
    use crate::genesys::{Client, ClientOptions, Credentials, Error};
    use crate::platform::variants::VARIANTS;
    use crate::secret::Secret;

    fn info(id: &str, kind: Kind, config: serde_json::Value) -> ActionInfo {
        ActionInfo {
            action: serde_json::from_value(serde_json::json!({"id": id, "config": config}))
                .unwrap(),
            kind,
            function_timeout: None,
        }
    }

    #[test]
    fn a_region_shows_its_api_and_login_hosts_and_the_client_id() {
        let client = |credentials| {
            Client::new(ClientOptions {
                target: crate::genesys::Target::parse("eu-west-1").unwrap(),
                credentials,
                rate_per_minute: 300,
                tokens: 1,
                concurrency: 8,
                retry: crate::genesys::RetryPolicy::default(),
                request_timeout: Duration::from_secs(30),
            })
            .unwrap()
        };
        let shown = connection(&client(Credentials::ClientCredentials {
            client_id: "my-client".into(),
            client_secret: Secret::new("Sec-unit-0454"),
        }));
        assert_eq!(shown.region.as_deref(), Some("eu-west-1"));
        assert_eq!(shown.api_host, "api.mypurecloud.ie");
        assert_eq!(shown.login_host, "login.mypurecloud.ie");
        assert_eq!(
            (shown.credentials, shown.client_id.as_deref()),
            ("client credentials", Some("my-client"))
        );
        let shown = connection(&client(Credentials::AccessToken(Secret::new("tok"))));
        assert_eq!((shown.credentials, shown.client_id), ("access token", None));
    }

    #[test]
    fn minutes_are_requests_over_the_rate() {
        assert_eq!(minutes(600, 300, 1), 2.0);
        assert_eq!(minutes(150, 300, 1), 0.5);
        assert_eq!(minutes(3000, 300, 10), 1.0, "each token has its own limit");
        assert_eq!(
            minutes(10, 0, 0),
            10.0,
            "a rate of 0 is taken as 1, no tokens as one"
        );
    }

    #[test]
    fn the_estimate_counts_every_request_of_a_change() {
        let by_uri = serde_json::json!({
            "timeoutSeconds": 10,
            "request": {"requestTemplateUri": "/t/requesttemplate.vm"},
            "response": {"successTemplateUri": "/t/successtemplate.vm"},
        });
        let inline = serde_json::json!({
            "request": {"requestTemplate": "x"},
            "response": {"successTemplate": "y", "successTemplateUri": "/t/s"},
        });
        let mut actions: Vec<ActionInfo> = (0..120)
            .map(|i| info(&format!("a{i}"), Kind::Standard, by_uri.clone()))
            .collect();
        actions.push(info("b", Kind::Standard, inline));
        actions.push(info("static_x", Kind::Static, by_uri.clone()));
        actions.push(info("auth", Kind::CustomAuth, by_uri.clone()));
        actions.push(info("f1", Kind::Function, by_uri.clone()));
        actions.push(info("f2", Kind::Function, by_uri));
        let e = Estimate::of(&actions, 6, 300, 4);
        assert_eq!(e.standard_actions, 121);
        // 124 listed without the custom auth action: 2 pages.
        assert_eq!(e.listing_pages, 2);
        assert_eq!(e.integrations_listing, 1);
        assert_eq!(e.patches, 121);
        assert_eq!(
            e.template_reads, 240,
            "two per URI-only action, none for inline"
        );
        assert_eq!(e.verify_reads, 3);
        // The canary, `a0`: read whole twice, and its two URI-only templates once more.
        assert_eq!(e.first_write_check_reads, 4);
        assert_eq!(e.requests, 2 + 1 + 121 + 240 + 3 + 4);
        assert_eq!(
            e.minutes,
            e.requests as f64 / 1200.0,
            "four tokens at 300 a minute"
        );
        assert_eq!((e.function_actions, e.function_requests), (2, 16));
    }

    #[test]
    fn templates_are_counted_one_by_one() {
        let mut counts = TemplateCounts::default();
        let config: ActionConfig = serde_json::from_value(serde_json::json!({
            "request": {"requestTemplate": "x", "requestTemplateUri": "/t/r"},
            "response": {"successTemplateUri": "/t/s"},
        }))
        .unwrap();
        counts.add(&config);
        counts.add(&ActionConfig::default());
        assert_eq!(
            counts,
            TemplateCounts {
                inline: 1,
                uri_only: 1
            }
        );
        assert_eq!(templates_variant(counts).0, Some("mixed"));
        assert_eq!(
            templates_variant(TemplateCounts {
                inline: 0,
                uri_only: 3
            })
            .0,
            Some("uri")
        );
        assert_eq!(
            templates_variant(TemplateCounts {
                inline: 3,
                uri_only: 0
            })
            .0,
            Some("inline")
        );
        assert_eq!(templates_variant(TemplateCounts::default()).0, None);
    }

    #[test]
    fn the_median_is_the_middle_sample() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(median_ms(&ms(&[9, 1, 5, 300, 4])), 5.0);
        assert_eq!(median_ms(&ms(&[2, 4])), 3.0);
        assert_eq!(median_ms(&[]), 0.0);
    }

    #[test]
    fn refusals_map_to_the_sandbox_values() {
        let auth = |status, error: &str| Error::Auth {
            status,
            error: error.into(),
            description: "authentication failed".into(),
            region: "eu-west-1 (api.mypurecloud.ie)".into(),
            credentials_from: None,
        };
        for status in [400, 401] {
            let (value, seen) = refusal_status(&auth(status, "invalid_client"), "x").unwrap();
            assert_eq!(value, Some(status.to_string()));
            assert!(seen.contains(&status.to_string()), "{seen}");
        }
        let (value, seen) = refusal_status(&auth(403, "invalid_client"), "x").unwrap();
        assert_eq!(value, None);
        assert!(seen.contains("neither value"), "{seen}");
        assert!(refusal_status(&auth(400, "invalid_request"), "x").is_none());
    }

    #[test]
    fn every_variant_option_is_reported_and_only_seen_ones_reproduce() {
        let mut seen = VariantsSeen::unseen("why");
        assert_eq!(seen.0.len(), VARIANTS.len());
        assert_eq!(seen.reproduce(), None);
        seen.set("paging", Some("next-uri"), "because");
        seen.set("templates", Some("inline"), "because");
        assert_eq!(
            seen.reproduce().as_deref(),
            Some("--sandbox-variant templates=inline,paging=next-uri")
        );
        let json = serde_json::to_value(&seen).unwrap();
        assert_eq!(json["paging"]["value"], "next-uri");
        assert_eq!(json["conflict-status"]["value"], serde_json::Value::Null);
    }
}
