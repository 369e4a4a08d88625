//! The aggregates query as sent, and its validation into a [`Plan`] (what to count).

use axum::http::StatusCode;
use serde_json::Value;

use crate::sandbox::error::{ApiError, ApiResult};
use crate::sandbox::executions::{DAY_MS, OUTCOMES};

use super::wire::*;
use super::*;

// ---------------------------------------------------------------------------------------------
// Dimensions

/// The contract's dimensions. The first five belong to the action (known before its history is
/// replayed); the other three to each execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dim {
    ActionCategory,
    ActionId,
    ActionName,
    IntegrationId,
    IntegrationName,
    ErrorType,
    ResponseStatus,
    CorrelationId,
}

pub(super) const DIMENSIONS: [(&str, Dim); 8] = [
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
    pub(super) fn parse(name: &str) -> Option<Dim> {
        DIMENSIONS.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
    }

    pub(super) fn name(self) -> &'static str {
        DIMENSIONS
            .iter()
            .find(|(_, d)| *d == self)
            .map(|(n, _)| *n)
            .unwrap_or_default()
    }

    /// Index in [`ActionRow::values`] for the action's own dimensions.
    pub(super) fn action_slot(self) -> Option<usize> {
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

pub(super) fn names_of(list: &[(&str, Dim)]) -> String {
    list.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// Distinct `responseStatus` values of [`OUTCOMES`], in order.
pub(super) fn statuses() -> Vec<&'static str> {
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
pub(super) enum Logic {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Matches,
    Exists,
    NotExists,
}

#[derive(Debug, Clone)]
pub(super) enum Pred {
    Dimension {
        dim: Dim,
        op: Op,
        value: Option<String>,
    },
    /// A range over `tTotalExecution`.
    Metric(NumericRange),
}

#[derive(Debug, Clone)]
pub(super) struct Clause {
    pub(super) logic: Logic,
    pub(super) predicates: Vec<Pred>,
}

#[derive(Debug, Clone)]
pub(super) struct Filter {
    pub(super) logic: Logic,
    pub(super) predicates: Vec<Pred>,
    pub(super) clauses: Vec<Clause>,
}

#[derive(Debug, Clone)]
pub(super) struct View {
    pub(super) name: String,
    pub(super) gte: f64,
    pub(super) lt: f64,
}

/// A query that passed validation.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(super) start_ms: i64,
    pub(super) end_ms: i64,
    /// Bucket length; the whole interval when no granularity was asked.
    pub(super) bucket_ms: i64,
    pub(super) group_by: Vec<Dim>,
    pub(super) filter: Option<Filter>,
    pub(super) views: Vec<View>,
}

pub(super) fn invalid(ctx: &str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid_value(ctx, field, message)
}

pub(super) fn invalid_date(ctx: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ctx, StatusCode::BAD_REQUEST, "invalid.date", message)
}

/// One end of an interval: an instant with an offset (`2026-11-05T00:00:00.000Z`), or a date
/// and time without one, read as UTC.
pub(super) fn parse_instant(text: &str) -> Option<i64> {
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
pub(super) fn parse_duration_ms(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    pub(super) fn parts(text: &str, units: &[(char, i64)]) -> Option<i64> {
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

pub(super) fn parse_logic(ctx: &str, field: &str, kind: Option<&str>) -> ApiResult<Logic> {
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

pub(super) fn parse_predicate(ctx: &str, at: &str, p: QueryPredicate) -> ApiResult<Pred> {
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

pub(super) fn parse_predicates(
    ctx: &str,
    at: &str,
    list: Vec<QueryPredicate>,
) -> ApiResult<Vec<Pred>> {
    list.into_iter()
        .enumerate()
        .map(|(i, p)| parse_predicate(ctx, &format!("{at}[{i}]"), p))
        .collect()
}

pub(super) fn parse_filter(ctx: &str, f: QueryFilter) -> ApiResult<Filter> {
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

pub(super) fn parse_views(ctx: &str, list: Vec<AggregationView>) -> ApiResult<Vec<View>> {
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
