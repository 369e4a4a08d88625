//! `POST /api/v2/analytics/actions/aggregates/query` (execution statistics, answered from the
//! seeded history of `executions`) and the inspection route `GET /sandbox/executions` (the same
//! history's truth per action, for tests).
//!
//! The wire types are the sandbox's own, written from the contract's `ActionAggregationQuery` and
//! `ActionAggregateQueryResponse` (not `genesys::models`), so a mistake in the client's models
//! cannot hide the same mistake here.
//!
//! Validation, as the notes describe the platform (each refusal is a 400 with the notes' error
//! body): a body that is not a JSON object, or has a field the model does not (`bad.request`);
//! `interval` or `metrics` missing (`invalid.value` naming it); an interval that is not
//! `start/end` in ISO-8601 or ends before it starts (`invalid.date`); an unknown metric, `groupBy`
//! dimension, filter or clause `type`, predicate `type`, dimension or operator, view `function` or
//! `target`; more than 10 views, a view without a name or range, a view named like a metric, two
//! views of one name; a `matches` predicate without a value; a `metric` predicate without a
//! range; an empty filter or clause; a malformed `granularity` (`invalid.value`).
//!
//! Decisions where the notes are silent:
//! - `matches` is an exact match. A `metric` predicate's `range` applies to `tTotalExecution`;
//!   `property` predicates are refused (the model has no property to name).
//! - `granularity` is a fixed-length ISO-8601 duration (`PnW`, `PnD`, `PTnH`, `PTnM`, `PTnS` and
//!   sums of them; no months or years); buckets start at the interval's start and are UTC. More
//!   than [`MAX_BUCKETS`] buckets is a 400. `timeZone`, `flattenMultivaluedDimensions` and
//!   `alternateTimeDimension` (only `eventTime`) are accepted and change nothing.
//! - Empty answers are left out: no `results` key when nothing executed, no bucket without an
//!   execution, no view whose count is 0 (analytics answers usually omit empty statistics; a
//!   client must read a missing view as 0). `p95`/`p99` only under `percentiles=present`.
//! - More than [`MAX_GROUPS`] (group, bucket) entries is a 400 (the platform's limit on results
//!   is UNCONFIRMED); grouping by `correlationId` over a long interval reaches it.
//! - Execution-level work (the history replay) runs on a blocking thread, outside the org's lock.

//!
//! - `wire`: the request and the answer as sent (the contract's models).
//! - `query`: the request's validation into a `Plan`.
//! - `answer`: a `Plan` evaluated over the history, into the contract's answer.

mod answer;
mod query;
mod wire;

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::executions::{CUT_MARGIN_MS, DAY_MS, OUTCOMES, Profile, percentile};
use super::state::Shared;

use answer::*;
use query::*;
use wire::AggregateQueryResponse;

pub const ROUTE: &str = "/api/v2/analytics/actions/aggregates/query";
pub const INSPECTION_ROUTE: &str = "/sandbox/executions";

/// The only metric of the endpoint.
pub const METRIC: &str = "tTotalExecution";
/// The contract's `maxItems` of `views`.
pub const MAX_VIEWS: usize = 10;
/// Most buckets one query may ask for (a sandbox limit; the platform's is UNCONFIRMED).
pub const MAX_BUCKETS: i64 = 1_000;
/// Most (group, bucket) entries one answer may hold (a sandbox limit; see the module doc).
pub const MAX_GROUPS: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// Handlers

/// `POST /api/v2/analytics/actions/aggregates/query`. Reading statistics needs only read
/// permission (`integrations:action:view`), so read-only clients may query.
pub async fn aggregates_query(
    State(shared): State<Shared>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<AggregateQueryResponse>> {
    let ctx = caller.ctx;
    let plan = Plan::parse(&ctx, &body)?;
    let (history, rows, percentiles) = snapshot(&shared.lock(), &plan);
    let answer = tokio::task::spawn_blocking(move || plan.run(&ctx, &history, &rows, percentiles))
        .await
        .map_err(|e| {
            ApiError::new(
                "",
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal.server.error",
                format!("The query failed: {e}"),
            )
        })??;
    Ok(Json(answer))
}

/// One action's truth over a window, as `GET /sandbox/executions` shows it.
#[derive(Debug, Default, Serialize)]
struct Truth {
    id: String,
    name: String,
    /// The timeout its executions were cut at (the effective one when the sandbox started).
    timeout_seconds: u32,
    executions: u64,
    /// Executions whose `errorType` is not `NONE` (cut ones included).
    errors: u64,
    /// Executions by `errorType`, `NONE` (success) included.
    by_error_type: BTreeMap<&'static str, u64>,
    by_response_status: BTreeMap<&'static str, u64>,
    /// Executions cut at the timeout.
    timeouts: u64,
    min_ms: Option<u32>,
    max_ms: Option<u32>,
    sum_ms: u64,
    mean_ms: Option<f64>,
    p95_ms: Option<u32>,
    p99_ms: Option<u32>,
}

/// `GET /sandbox/executions[?interval=START/END][&days=N][&actionId=ID...]`: the truth per
/// action (every action, `executions: 0` for one that never ran) over the window: the
/// interval, or the last `days` days of the history, or the whole history.
pub async fn sandbox_executions(
    State(shared): State<Shared>,
    axum::Extension(ctx): axum::Extension<super::gateway::Ctx>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let ctx = ctx.0;
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let (history, actions) = {
        let org = shared.lock();
        let actions: Vec<(String, String, Profile)> = org
            .actions
            .values()
            .filter_map(|a| Some((a.id.clone(), a.name.clone(), *org.history.profile(&a.id)?)))
            .collect();
        (org.history.clone(), actions)
    };
    let mut window = (history.start_ms, history.end_ms);
    let mut ids: Vec<String> = Vec::new();
    for (key, value) in &query {
        match key.as_str() {
            "interval" => window = parse_interval(&ctx, value)?,
            "days" => {
                let days: i64 = value.parse().ok().filter(|d| *d >= 1).ok_or_else(|| {
                    invalid(
                        &ctx,
                        "days",
                        format!("days must be a whole number from 1; got `{value}`."),
                    )
                })?;
                window = (history.end_ms - days * DAY_MS, history.end_ms);
            }
            "actionId" => ids.push(value.clone()),
            other => {
                return Err(invalid(
                    &ctx,
                    other,
                    format!(
                        "`{other}` is not a parameter of /sandbox/executions: use interval, days or actionId."
                    ),
                ));
            }
        }
    }
    let covered = format!(
        "{}/{}",
        format_instant(history.start_ms),
        format_instant(history.end_ms)
    );
    let truths = tokio::task::spawn_blocking(move || {
        actions
            .into_iter()
            .filter(|(id, _, _)| ids.is_empty() || ids.contains(id))
            .map(|(id, name, profile)| {
                let mut truth = Truth {
                    id,
                    name,
                    timeout_seconds: profile.timeout_ms / 1000,
                    ..Truth::default()
                };
                let mut values = Vec::new();
                history.for_each(&profile, window.0, window.1, |e| {
                    truth.executions += 1;
                    let (error_type, status) = OUTCOMES[e.outcome as usize];
                    if e.outcome != 0 {
                        truth.errors += 1;
                    }
                    *truth.by_error_type.entry(error_type).or_default() += 1;
                    *truth.by_response_status.entry(status).or_default() += 1;
                    truth.timeouts += u64::from(e.cut);
                    truth.sum_ms += u64::from(e.ms);
                    values.push(e.ms);
                });
                truth.min_ms = values.iter().copied().min();
                truth.max_ms = values.iter().copied().max();
                truth.mean_ms =
                    (!values.is_empty()).then(|| truth.sum_ms as f64 / values.len() as f64);
                truth.p95_ms = percentile(&mut values, 95.0);
                truth.p99_ms = percentile(&mut values, 99.0);
                truth
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    Ok(Json(json!({
        "interval": format!("{}/{}", format_instant(window.0), format_instant(window.1)),
        "history": covered,
        "cut_margin_ms": CUT_MARGIN_MS,
        "actions": truths,
    })))
}
