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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::executions::{
    CUT_MARGIN_MS, DAY_MS, ERROR_TYPES, Execution, History, OUTCOMES, Profile, error_type_index,
    percentile,
};
use super::state::{Shared, State as Org};
use super::variants::Percentiles;

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
// Wire types: the request

/// `ActionAggregationQuery`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AggregationQuery {
    interval: Option<String>,
    granularity: Option<String>,
    #[allow(dead_code)]
    time_zone: Option<String>,
    group_by: Option<Vec<String>>,
    filter: Option<QueryFilter>,
    metrics: Option<Vec<String>>,
    #[allow(dead_code)]
    flatten_multivalued_dimensions: Option<bool>,
    views: Option<Vec<AggregationView>>,
    alternate_time_dimension: Option<String>,
}

/// `ActionAggregateQueryFilter`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryFilter {
    #[serde(rename = "type")]
    kind: Option<String>,
    clauses: Option<Vec<QueryClause>>,
    predicates: Option<Vec<QueryPredicate>>,
}

/// `ActionAggregateQueryClause`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryClause {
    #[serde(rename = "type")]
    kind: Option<String>,
    predicates: Option<Vec<QueryPredicate>>,
}

/// `ActionAggregateQueryPredicate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryPredicate {
    #[serde(rename = "type")]
    kind: Option<String>,
    dimension: Option<String>,
    operator: Option<String>,
    value: Option<String>,
    range: Option<NumericRange>,
}

/// `NumericRange`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumericRange {
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
}

/// `ActionAggregationView`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AggregationView {
    target: Option<String>,
    name: Option<String>,
    function: Option<String>,
    range: Option<AggregationRange>,
}

/// `AggregationRange`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct AggregationRange {
    gte: Option<f64>,
    lt: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Wire types: the response

/// `ActionAggregateQueryResponse`.
#[derive(Debug, Serialize)]
pub struct AggregateQueryResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results: Vec<DataContainer>,
}

/// `ActionAggregateDataContainer`.
#[derive(Debug, Serialize)]
struct DataContainer {
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    group: serde_json::Map<String, Value>,
    data: Vec<StatisticalResponse>,
}

/// `StatisticalResponse`.
#[derive(Debug, Serialize)]
struct StatisticalResponse {
    interval: String,
    metrics: Vec<MetricData>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    views: Vec<ViewData>,
}

/// `AggregateMetricData`.
#[derive(Debug, Serialize)]
struct MetricData {
    metric: &'static str,
    stats: StatisticalSummary,
}

/// `AggregateViewData`.
#[derive(Debug, Serialize)]
struct ViewData {
    name: String,
    stats: StatisticalSummary,
}

/// `StatisticalSummary`: the fields the sandbox fills.
#[derive(Debug, Default, Serialize)]
struct StatisticalSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p95: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p99: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Dimensions

/// The contract's dimensions. The first five belong to the action (known before its history is
/// replayed); the other three to each execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    ActionCategory,
    ActionId,
    ActionName,
    IntegrationId,
    IntegrationName,
    ErrorType,
    ResponseStatus,
    CorrelationId,
}

const DIMENSIONS: [(&str, Dim); 8] = [
    ("actionCategory", Dim::ActionCategory),
    ("actionId", Dim::ActionId),
    ("actionName", Dim::ActionName),
    ("correlationId", Dim::CorrelationId),
    ("errorType", Dim::ErrorType),
    ("integrationId", Dim::IntegrationId),
    ("integrationName", Dim::IntegrationName),
    ("responseStatus", Dim::ResponseStatus),
];

impl Dim {
    fn parse(name: &str) -> Option<Dim> {
        DIMENSIONS.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
    }

    fn name(self) -> &'static str {
        DIMENSIONS
            .iter()
            .find(|(_, d)| *d == self)
            .map(|(n, _)| *n)
            .unwrap_or_default()
    }

    /// Index in [`ActionRow::values`] for the action's own dimensions.
    fn action_slot(self) -> Option<usize> {
        match self {
            Dim::ActionCategory => Some(0),
            Dim::ActionId => Some(1),
            Dim::ActionName => Some(2),
            Dim::IntegrationId => Some(3),
            Dim::IntegrationName => Some(4),
            _ => None,
        }
    }
}

fn names_of(list: &[(&str, Dim)]) -> String {
    list.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// Distinct `responseStatus` values of [`OUTCOMES`], in order.
fn statuses() -> Vec<&'static str> {
    let mut out: Vec<&str> = Vec::new();
    for (_, status) in OUTCOMES {
        if !out.contains(status) {
            out.push(status);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The checked query

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Matches,
    Exists,
    NotExists,
}

#[derive(Debug, Clone)]
enum Pred {
    Dimension {
        dim: Dim,
        op: Op,
        value: Option<String>,
    },
    /// A range over `tTotalExecution`.
    Metric(NumericRange),
}

#[derive(Debug, Clone)]
struct Clause {
    logic: Logic,
    predicates: Vec<Pred>,
}

#[derive(Debug, Clone)]
struct Filter {
    logic: Logic,
    predicates: Vec<Pred>,
    clauses: Vec<Clause>,
}

#[derive(Debug, Clone)]
struct View {
    name: String,
    gte: f64,
    lt: f64,
}

/// A query that passed validation.
#[derive(Debug, Clone)]
pub struct Plan {
    start_ms: i64,
    end_ms: i64,
    /// Bucket length; the whole interval when no granularity was asked.
    bucket_ms: i64,
    group_by: Vec<Dim>,
    filter: Option<Filter>,
    views: Vec<View>,
}

fn invalid(ctx: &str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid_value(ctx, field, message)
}

fn invalid_date(ctx: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ctx, StatusCode::BAD_REQUEST, "invalid.date", message)
}

/// One end of an interval: an instant with an offset (`2026-11-05T00:00:00.000Z`), or a date
/// and time without one, read as UTC.
fn parse_instant(text: &str) -> Option<i64> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    let ts = jiff::tz::Offset::UTC.to_timestamp(civil).ok()?;
    Some(ts.as_millisecond())
}

/// `start/end` in ISO-8601 → `[start, end)` in ms since the epoch.
pub fn parse_interval(ctx: &str, text: &str) -> ApiResult<(i64, i64)> {
    let bad = || {
        invalid_date(
            ctx,
            format!(
                "The interval `{text}` is not valid: write it as ISO-8601 `start/end`, e.g. `2026-11-01T00:00:00.000Z/2026-11-08T00:00:00.000Z`."
            ),
        )
    };
    let (start, end) = text.split_once('/').ok_or_else(bad)?;
    let start = parse_instant(start.trim()).ok_or_else(bad)?;
    let end = parse_instant(end.trim()).ok_or_else(bad)?;
    if end <= start {
        return Err(invalid_date(
            ctx,
            format!("The interval `{text}` ends before it starts."),
        ));
    }
    Ok((start, end))
}

/// A fixed-length ISO-8601 duration in ms: `P[nW][nD][T[nH][nM][nS]]`.
fn parse_duration_ms(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    fn parts(text: &str, units: &[(char, i64)]) -> Option<i64> {
        let mut total: i64 = 0;
        let mut number = String::new();
        let mut last_unit = 0;
        for c in text.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let position = units.iter().position(|(u, _)| *u == c)?;
            if number.is_empty() || position < last_unit {
                return None;
            }
            last_unit = position + 1;
            let n: i64 = number.parse().ok()?;
            total = total.checked_add(n.checked_mul(units[position].1)?)?;
            number.clear();
        }
        number.is_empty().then_some(total)
    }
    let mut total = parts(date, &[('W', 7 * DAY_MS), ('D', DAY_MS)])?;
    if let Some(time) = time {
        total += parts(time, &[('H', 3_600_000), ('M', 60_000), ('S', 1_000)])?;
    }
    (total > 0).then_some(total)
}

fn parse_logic(ctx: &str, field: &str, kind: Option<&str>) -> ApiResult<Logic> {
    match kind {
        Some("and") => Ok(Logic::And),
        Some("or") => Ok(Logic::Or),
        None => Err(invalid(
            ctx,
            field,
            format!("{field} is required: `and` or `or`."),
        )),
        Some(other) => Err(invalid(
            ctx,
            field,
            format!("{field} `{other}` is not valid: use `and` or `or`."),
        )),
    }
}

fn parse_predicate(ctx: &str, at: &str, p: QueryPredicate) -> ApiResult<Pred> {
    match p.kind.as_deref().unwrap_or("dimension") {
        "dimension" => {}
        "metric" => {
            if p.dimension.is_some() || p.value.is_some() {
                return Err(invalid(
                    ctx,
                    at,
                    format!("{at}: a metric predicate takes a range, not a dimension or value."),
                ));
            }
            let Some(range) = p.range else {
                return Err(invalid(
                    ctx,
                    &format!("{at}.range"),
                    format!("{at}: a metric predicate needs a range."),
                ));
            };
            return Ok(Pred::Metric(range));
        }
        "property" => {
            return Err(invalid(
                ctx,
                &format!("{at}.type"),
                format!(
                    "{at}: property predicates are not supported by action aggregates; use a dimension predicate."
                ),
            ));
        }
        other => {
            return Err(invalid(
                ctx,
                &format!("{at}.type"),
                format!("{at}: predicate type `{other}` is not valid: use dimension or metric."),
            ));
        }
    }
    let Some(name) = p.dimension else {
        return Err(invalid(
            ctx,
            &format!("{at}.dimension"),
            format!("{at}: a dimension predicate needs a dimension."),
        ));
    };
    let Some(dim) = Dim::parse(&name) else {
        return Err(invalid(
            ctx,
            &format!("{at}.dimension"),
            format!(
                "{at}: `{name}` is not a dimension of action aggregates; the dimensions are {}.",
                names_of(&DIMENSIONS)
            ),
        ));
    };
    let op = match p.operator.as_deref() {
        None | Some("matches") => Op::Matches,
        Some("exists") => Op::Exists,
        Some("notExists") => Op::NotExists,
        Some(other) => {
            return Err(invalid(
                ctx,
                &format!("{at}.operator"),
                format!("{at}: operator `{other}` is not valid: use matches, exists or notExists."),
            ));
        }
    };
    if op == Op::Matches && p.value.is_none() {
        return Err(invalid(
            ctx,
            &format!("{at}.value"),
            format!("{at}: a matches predicate needs a value."),
        ));
    }
    if p.range.is_some() {
        return Err(invalid(
            ctx,
            &format!("{at}.range"),
            format!("{at}: a dimension predicate takes no range."),
        ));
    }
    Ok(Pred::Dimension {
        dim,
        op,
        value: p.value,
    })
}

fn parse_predicates(ctx: &str, at: &str, list: Vec<QueryPredicate>) -> ApiResult<Vec<Pred>> {
    list.into_iter()
        .enumerate()
        .map(|(i, p)| parse_predicate(ctx, &format!("{at}[{i}]"), p))
        .collect()
}

fn parse_filter(ctx: &str, f: QueryFilter) -> ApiResult<Filter> {
    let logic = parse_logic(ctx, "filter.type", f.kind.as_deref())?;
    let predicates = parse_predicates(ctx, "filter.predicates", f.predicates.unwrap_or_default())?;
    let mut clauses = Vec::new();
    for (i, clause) in f.clauses.unwrap_or_default().into_iter().enumerate() {
        let at = format!("filter.clauses[{i}]");
        let logic = parse_logic(ctx, &format!("{at}.type"), clause.kind.as_deref())?;
        let predicates = parse_predicates(
            ctx,
            &format!("{at}.predicates"),
            clause.predicates.unwrap_or_default(),
        )?;
        if predicates.is_empty() {
            return Err(invalid(
                ctx,
                &format!("{at}.predicates"),
                format!("{at} has no predicates."),
            ));
        }
        clauses.push(Clause { logic, predicates });
    }
    if predicates.is_empty() && clauses.is_empty() {
        return Err(invalid(
            ctx,
            "filter",
            "The filter has neither predicates nor clauses.",
        ));
    }
    Ok(Filter {
        logic,
        predicates,
        clauses,
    })
}

fn parse_views(ctx: &str, list: Vec<AggregationView>) -> ApiResult<Vec<View>> {
    if list.len() > MAX_VIEWS {
        return Err(invalid(
            ctx,
            "views",
            format!(
                "A query takes at most {MAX_VIEWS} views; this one has {}.",
                list.len()
            ),
        ));
    }
    let mut views: Vec<View> = Vec::new();
    for (i, view) in list.into_iter().enumerate() {
        let at = format!("views[{i}]");
        match view.function.as_deref() {
            Some("rangeBound") => {}
            None => {
                return Err(invalid(
                    ctx,
                    &format!("{at}.function"),
                    format!("{at}.function is required: rangeBound."),
                ));
            }
            Some(other) => {
                return Err(invalid(
                    ctx,
                    &format!("{at}.function"),
                    format!("{at}: view function `{other}` is not valid: use rangeBound."),
                ));
            }
        }
        match view.target.as_deref() {
            Some(METRIC) => {}
            other => {
                return Err(invalid(
                    ctx,
                    &format!("{at}.target"),
                    format!(
                        "{at}: view target `{}` is not valid: use {METRIC}.",
                        other.unwrap_or_default()
                    ),
                ));
            }
        }
        let name = match view.name {
            Some(name) if !name.trim().is_empty() => name,
            _ => {
                return Err(invalid(
                    ctx,
                    &format!("{at}.name"),
                    format!("{at}.name is required."),
                ));
            }
        };
        if name == METRIC {
            return Err(invalid(
                ctx,
                &format!("{at}.name"),
                format!("{at}: a view may not be named like the metric {METRIC}."),
            ));
        }
        if views.iter().any(|v| v.name == name) {
            return Err(invalid(
                ctx,
                &format!("{at}.name"),
                format!("{at}: two views are named `{name}`."),
            ));
        }
        let Some(range) = view.range else {
            return Err(invalid(
                ctx,
                &format!("{at}.range"),
                format!("{at}.range is required."),
            ));
        };
        let gte = range.gte.unwrap_or(f64::NEG_INFINITY);
        let lt = range.lt.unwrap_or(f64::INFINITY);
        if range.gte.is_none() && range.lt.is_none() || gte >= lt {
            return Err(invalid(
                ctx,
                &format!("{at}.range"),
                format!("{at}.range needs gte below lt (at least one of them)."),
            ));
        }
        views.push(View { name, gte, lt });
    }
    Ok(views)
}

impl Plan {
    /// Checks a request body as the platform would.
    pub fn parse(ctx: &str, body: &[u8]) -> ApiResult<Plan> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(ctx, format!("The request body is not valid JSON: {e}."))
        })?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                ctx,
                "The request body must be a JSON object (ActionAggregationQuery).",
            ));
        }
        let query: AggregationQuery = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.inner().to_string();
            if inner.starts_with("unknown field") {
                ApiError::bad_request(ctx, format!("Unrecognized field at {path}: {inner}."))
            } else {
                invalid(
                    ctx,
                    &path,
                    format!("The request body has an invalid value at {path}: {inner}."),
                )
            }
        })?;
        let Some(interval) = query.interval else {
            return Err(invalid(
                ctx,
                "interval",
                "The field interval is required in the request body.",
            ));
        };
        let Some(metrics) = query.metrics else {
            return Err(invalid(
                ctx,
                "metrics",
                "The field metrics is required in the request body.",
            ));
        };
        if metrics.is_empty() {
            return Err(invalid(
                ctx,
                "metrics",
                "metrics needs at least one metric.",
            ));
        }
        if let Some(unknown) = metrics.iter().find(|m| *m != METRIC) {
            return Err(invalid(
                ctx,
                "metrics",
                format!(
                    "`{unknown}` is not a metric of action aggregates; the only metric is {METRIC}."
                ),
            ));
        }
        let (start_ms, end_ms) = parse_interval(ctx, &interval)?;
        let bucket_ms = match query.granularity.as_deref() {
            None => end_ms - start_ms,
            Some(text) => {
                let length = parse_duration_ms(text).ok_or_else(|| {
                    invalid(
                        ctx,
                        "granularity",
                        format!(
                            "The granularity `{text}` is not valid: write an ISO-8601 duration of weeks, days, hours, minutes or seconds, e.g. `P1D` or `PT1H`."
                        ),
                    )
                })?;
                let buckets = (end_ms - start_ms + length - 1) / length;
                if buckets > MAX_BUCKETS {
                    return Err(invalid(
                        ctx,
                        "granularity",
                        format!(
                            "The granularity `{text}` cuts the interval into {buckets} parts; at most {MAX_BUCKETS} are allowed."
                        ),
                    ));
                }
                length
            }
        };
        if let Some(other) = query
            .alternate_time_dimension
            .as_deref()
            .filter(|d| *d != "eventTime")
        {
            return Err(invalid(
                ctx,
                "alternateTimeDimension",
                format!("alternateTimeDimension `{other}` is not valid: use eventTime."),
            ));
        }
        let mut group_by = Vec::new();
        for name in query.group_by.unwrap_or_default() {
            let Some(dim) = Dim::parse(&name) else {
                return Err(invalid(
                    ctx,
                    "groupBy",
                    format!(
                        "`{name}` is not a dimension of action aggregates; groupBy takes {}.",
                        names_of(&DIMENSIONS)
                    ),
                ));
            };
            if !group_by.contains(&dim) {
                group_by.push(dim);
            }
        }
        let filter = query.filter.map(|f| parse_filter(ctx, f)).transpose()?;
        let views = parse_views(ctx, query.views.unwrap_or_default())?;
        Ok(Plan {
            start_ms,
            end_ms,
            bucket_ms,
            group_by,
            filter,
            views,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// An action as the query sees it: its history and its own dimensions' values.
#[derive(Debug, Clone)]
pub struct ActionRow {
    profile: Profile,
    /// category, id, name, integration id, integration name (see [`Dim::action_slot`]).
    values: [String; 5],
}

/// The action's own dimension values, borrowed from the org.
fn action_values<'a>(org: &'a Org, action: &'a super::state::StoredAction) -> [&'a str; 5] {
    let integration_name = org
        .integration(&action.integration_id)
        .map(|i| i.name.as_str())
        .unwrap_or_default();
    [
        &action.category,
        &action.id,
        &action.name,
        &action.integration_id,
        integration_name,
    ]
}

/// The value of `dim` for one execution of an action (every dimension is always present here).
fn value_of<'a>(
    dim: Dim,
    values: &'a [impl AsRef<str>; 5],
    profile: &Profile,
    execution: Option<&Execution>,
) -> Option<Cow<'a, str>> {
    if let Some(slot) = dim.action_slot() {
        return Some(Cow::Borrowed(values[slot].as_ref()));
    }
    let execution = execution?;
    Some(match dim {
        Dim::ErrorType => Cow::Borrowed(OUTCOMES[execution.outcome as usize].0),
        Dim::ResponseStatus => Cow::Borrowed(OUTCOMES[execution.outcome as usize].1),
        _ => Cow::Owned(profile.correlation_id(execution)),
    })
}

fn in_range(range: &NumericRange, ms: f64) -> bool {
    range.gt.is_none_or(|b| ms > b)
        && range.gte.is_none_or(|b| ms >= b)
        && range.lt.is_none_or(|b| ms < b)
        && range.lte.is_none_or(|b| ms <= b)
}

/// A predicate's truth, or `None` when it depends on an execution not given.
fn test(
    pred: &Pred,
    values: &[impl AsRef<str>; 5],
    profile: &Profile,
    execution: Option<&Execution>,
) -> Option<bool> {
    match pred {
        Pred::Metric(range) => execution.map(|e| in_range(range, f64::from(e.ms))),
        Pred::Dimension { dim, op, value } => {
            let actual = value_of(*dim, values, profile, execution)?;
            Some(match op {
                Op::Exists => true,
                Op::NotExists => false,
                Op::Matches => value.as_deref() == Some(actual.as_ref()),
            })
        }
    }
}

/// Three-valued `and`/`or` (unknown stays unknown unless decided by the others).
fn combine(logic: Logic, items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let decisive = logic == Logic::Or;
    let mut unknown = false;
    for item in items {
        match item {
            Some(v) if v == decisive => return Some(decisive),
            None => unknown = true,
            Some(_) => {}
        }
    }
    if unknown { None } else { Some(!decisive) }
}

impl Filter {
    fn eval(
        &self,
        values: &[impl AsRef<str>; 5],
        profile: &Profile,
        execution: Option<&Execution>,
    ) -> Option<bool> {
        let predicates = self
            .predicates
            .iter()
            .map(|p| test(p, values, profile, execution));
        let clauses = self.clauses.iter().map(|c| {
            combine(
                c.logic,
                c.predicates
                    .iter()
                    .map(|p| test(p, values, profile, execution)),
            )
        });
        combine(self.logic, predicates.chain(clauses))
    }
}

/// The actions a query may need: every action whose own dimensions do not already rule it out.
/// Under the org's lock; the history is shared, not copied.
pub fn snapshot(org: &Org, plan: &Plan) -> (Arc<History>, Vec<ActionRow>, Percentiles) {
    let mut rows = Vec::new();
    for action in org.actions.values() {
        let Some(profile) = org.history.profile(&action.id) else {
            continue;
        };
        let values = action_values(org, action);
        if let Some(filter) = &plan.filter
            && filter.eval(&values, profile, None) == Some(false)
        {
            continue;
        }
        rows.push(ActionRow {
            profile: *profile,
            values: values.map(str::to_owned),
        });
    }
    (org.history.clone(), rows, org.options.variants.percentiles)
}

/// What one (group, bucket) gathered.
#[derive(Debug)]
struct Acc {
    count: u64,
    sum: u64,
    min: u32,
    max: u32,
    /// Every value, only when percentiles are served.
    values: Vec<u32>,
    views: Vec<u64>,
}

type GroupKey = [u64; 8];
/// A group as rendered: (dimension, value) in `groupBy` order.
type Rendered = Vec<(&'static str, String)>;

impl Plan {
    /// The answer, from the history of `rows`.
    pub fn run(
        &self,
        ctx: &str,
        history: &History,
        rows: &[ActionRow],
        percentiles: Percentiles,
    ) -> ApiResult<AggregateQueryResponse> {
        let keep_values = percentiles == Percentiles::Present;
        let statuses = statuses();
        // Action dimensions are keyed by the index of their value among all values seen, so
        // two actions of one name fall into one `actionName` group.
        let mut interned: [HashMap<&str, u64>; 5] = Default::default();
        let mut names: [Vec<&str>; 5] = Default::default();
        let mut codes: Vec<[u64; 5]> = Vec::with_capacity(rows.len());
        for row in rows {
            let mut code = [0; 5];
            for slot in 0..5 {
                let value = row.values[slot].as_str();
                let next = names[slot].len() as u64;
                code[slot] = *interned[slot].entry(value).or_insert_with(|| {
                    names[slot].push(value);
                    next
                });
            }
            codes.push(code);
        }
        let mut correlation: HashMap<u64, String> = HashMap::new();
        let mut groups: HashMap<(GroupKey, i64), Acc> = HashMap::new();
        let mut too_many = false;
        for (index, row) in rows.iter().enumerate() {
            let decided = self
                .filter
                .as_ref()
                .map_or(Some(true), |f| f.eval(&row.values, &row.profile, None));
            if decided == Some(false) {
                continue;
            }
            history.for_each(&row.profile, self.start_ms, self.end_ms, |e| {
                if too_many {
                    return;
                }
                if decided.is_none()
                    && self
                        .filter
                        .as_ref()
                        .and_then(|f| f.eval(&row.values, &row.profile, Some(&e)))
                        != Some(true)
                {
                    return;
                }
                let mut key: GroupKey = [0; 8];
                for (place, dim) in self.group_by.iter().enumerate() {
                    key[place] = match dim.action_slot() {
                        Some(slot) => codes[index][slot],
                        None => match dim {
                            Dim::ErrorType => error_type_index(e.outcome) as u64,
                            Dim::ResponseStatus => {
                                let status = OUTCOMES[e.outcome as usize].1;
                                statuses.iter().position(|s| *s == status).unwrap_or(0) as u64
                            }
                            _ => {
                                let code = ((index as u64) << 40)
                                    | (((e.day - history.start_ms / DAY_MS) as u64) << 24)
                                    | u64::from(e.index);
                                correlation
                                    .entry(code)
                                    .or_insert_with(|| row.profile.correlation_id(&e));
                                code
                            }
                        },
                    };
                }
                let bucket = (e.at_ms - self.start_ms) / self.bucket_ms;
                let entries = groups.len();
                let acc = match groups.entry((key, bucket)) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        if entries >= MAX_GROUPS {
                            too_many = true;
                            return;
                        }
                        v.insert(Acc {
                            count: 0,
                            sum: 0,
                            min: u32::MAX,
                            max: 0,
                            values: Vec::new(),
                            views: vec![0; self.views.len()],
                        })
                    }
                };
                acc.count += 1;
                acc.sum += u64::from(e.ms);
                acc.min = acc.min.min(e.ms);
                acc.max = acc.max.max(e.ms);
                if keep_values {
                    acc.values.push(e.ms);
                }
                let ms = f64::from(e.ms);
                for (i, view) in self.views.iter().enumerate() {
                    if ms >= view.gte && ms < view.lt {
                        acc.views[i] += 1;
                    }
                }
            });
            if too_many {
                return Err(ApiError::bad_request(
                    ctx,
                    format!(
                        "The query would return more than {MAX_GROUPS} groups and intervals; narrow the interval, the filter or groupBy."
                    ),
                ));
            }
        }

        // Render: groups sorted by their values, data by interval.
        let render = |key: &GroupKey| -> Rendered {
            self.group_by
                .iter()
                .enumerate()
                .map(|(place, dim)| {
                    let code = key[place];
                    let text = match dim.action_slot() {
                        Some(slot) => names[slot][code as usize].to_owned(),
                        None => match dim {
                            Dim::ErrorType => ERROR_TYPES[code as usize].to_owned(),
                            Dim::ResponseStatus => statuses[code as usize].to_owned(),
                            _ => correlation.get(&code).cloned().unwrap_or_default(),
                        },
                    };
                    (dim.name(), text)
                })
                .collect()
        };
        let mut by_group: BTreeMap<Rendered, Vec<(i64, Acc)>> = BTreeMap::new();
        for ((key, bucket), acc) in groups {
            by_group
                .entry(render(&key))
                .or_default()
                .push((bucket, acc));
        }
        let results = by_group
            .into_iter()
            .map(|(group, mut data)| {
                data.sort_by_key(|(bucket, _)| *bucket);
                DataContainer {
                    group: group
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), Value::String(v)))
                        .collect(),
                    data: data
                        .into_iter()
                        .map(|(bucket, acc)| self.statistics(bucket, acc, keep_values))
                        .collect(),
                }
            })
            .collect();
        Ok(AggregateQueryResponse { results })
    }

    fn statistics(&self, bucket: i64, mut acc: Acc, keep_values: bool) -> StatisticalResponse {
        let from = self.start_ms + bucket * self.bucket_ms;
        let to = (from + self.bucket_ms).min(self.end_ms);
        let (p95, p99) = if keep_values {
            (
                percentile(&mut acc.values, 95.0).map(u64::from),
                percentile(&mut acc.values, 99.0).map(u64::from),
            )
        } else {
            (None, None)
        };
        StatisticalResponse {
            interval: format!("{}/{}", format_instant(from), format_instant(to)),
            metrics: vec![MetricData {
                metric: METRIC,
                stats: StatisticalSummary {
                    max: Some(f64::from(acc.max)),
                    min: Some(f64::from(acc.min)),
                    count: acc.count,
                    sum: Some(acc.sum as f64),
                    p95,
                    p99,
                },
            }],
            views: self
                .views
                .iter()
                .zip(acc.views)
                .filter(|(_, count)| *count > 0)
                .map(|(view, count)| ViewData {
                    name: view.name.clone(),
                    stats: StatisticalSummary {
                        count,
                        ..StatisticalSummary::default()
                    },
                })
                .collect(),
        }
    }
}

/// `2026-11-05T00:00:00.000Z`.
pub fn format_instant(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

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
