//! Execution statistics: `POST /api/v2/analytics/actions/aggregates/query` (the notes' "Execution
//! statistics (analytics)"), typed from the contract's `ActionAggregationQuery` and
//! `ActionAggregateQueryResponse`.
//!
//! The request types hold only what dactl sends. The answer types keep every field they do not
//! know in `extra` (`#[serde(flatten)]`) and default every field that may be missing: analytics
//! answers leave out what is empty (no `results` when nothing executed, no view whose count is 0,
//! `p95`/`p99` perhaps never), so a missing field is never a decode error. Counts and times are
//! read as numbers of any JSON kind (`f64`), the unit of `tTotalExecution` being milliseconds
//! (UNCONFIRMED, like every `t*` metric).
//!
//! The query goes through the client's one send path: retries, rate limit, token pool and
//! fail-fast rules as for every other request; a 400 comes back as `Error::Api`, verbatim.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::genesys::Error;
use crate::genesys::client::{Call, Client};

/// The endpoint, as path segments.
const QUERY: [&str; 6] = ["api", "v2", "analytics", "actions", "aggregates", "query"];

/// The only metric of the endpoint: an execution's total time, in milliseconds.
pub const METRIC: &str = "tTotalExecution";
/// Most views one query may carry (the contract's `maxItems`).
pub const MAX_VIEWS: usize = 10;
/// The upper bound of an "at least" view: a day, far above the longest execution (60 s).
pub const VIEW_END_MS: f64 = 86_400_000.0;

/// `ActionAggregationQuery`: what dactl asks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationQuery {
    /// `start/end`, ISO-8601.
    pub interval: String,
    /// An ISO-8601 period; `None`: the whole interval, one bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<QueryFilter>,
    pub metrics: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<AggregationView>,
}

/// `ActionAggregateQueryFilter`: `type` is `and` or `or`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryFilter {
    #[serde(rename = "type")]
    pub kind: String,
    pub predicates: Vec<QueryPredicate>,
}

impl QueryFilter {
    /// An OR of `actionId matches ID`, one predicate per id.
    pub fn any_action(ids: impl IntoIterator<Item = impl Into<String>>) -> QueryFilter {
        QueryFilter {
            kind: "or".into(),
            predicates: ids
                .into_iter()
                .map(|id| QueryPredicate {
                    kind: "dimension".into(),
                    dimension: "actionId".into(),
                    operator: "matches".into(),
                    value: Some(id.into()),
                })
                .collect(),
        }
    }
}

/// `ActionAggregateQueryPredicate` of `type: dimension`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryPredicate {
    #[serde(rename = "type")]
    pub kind: String,
    pub dimension: String,
    pub operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `ActionAggregationView`: counts the executions whose `tTotalExecution` is in `range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregationView {
    pub name: String,
    pub target: String,
    pub function: String,
    pub range: AggregationRange,
}

impl AggregationView {
    /// A `rangeBound` view counting executions of `ms` milliseconds or more. The range is
    /// closed at [`VIEW_END_MS`] rather than left open: whether the platform takes a range
    /// without `lt` is UNCONFIRMED, and no execution runs a day.
    pub fn at_least(name: impl Into<String>, ms: f64) -> AggregationView {
        AggregationView {
            name: name.into(),
            target: METRIC.into(),
            function: "rangeBound".into(),
            range: AggregationRange {
                gte: Some(ms),
                lt: Some(VIEW_END_MS),
            },
        }
    }
}

/// `AggregationRange`: `gte <= value < lt`, either bound optional.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AggregationRange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
}

/// `ActionAggregateQueryResponse`. No `results` (or `[]`) when nothing executed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AggregateQueryResponse {
    #[serde(default)]
    pub results: Vec<AggregateDataContainer>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `ActionAggregateDataContainer`: one group (e.g. `{actionId, errorType}`) and its buckets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AggregateDataContainer {
    #[serde(default)]
    pub group: BTreeMap<String, Value>,
    #[serde(default)]
    pub data: Vec<StatisticalResponse>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl AggregateDataContainer {
    /// A dimension's value in the group, when it is a string.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.group.get(name).and_then(Value::as_str)
    }
}

/// `StatisticalResponse`: one bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatisticalResponse {
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub metrics: Vec<AggregateMetricData>,
    #[serde(default)]
    pub views: Vec<AggregateViewData>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl StatisticalResponse {
    /// The stats of `metric`, when the bucket has them.
    pub fn metric(&self, metric: &str) -> Option<&StatisticalSummary> {
        self.metrics
            .iter()
            .find(|m| m.metric == metric)
            .map(|m| &m.stats)
    }

    /// The count of the view `name`; a view left out counts 0.
    pub fn view_count(&self, name: &str) -> u64 {
        self.views
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.stats.count)
            .map_or(0, count)
    }
}

/// `AggregateMetricData`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AggregateMetricData {
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub qualifier: Option<String>,
    #[serde(default)]
    pub stats: StatisticalSummary,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `AggregateViewData`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AggregateViewData {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub stats: StatisticalSummary,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `StatisticalSummary`: every field optional (the platform fills what it fills).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatisticalSummary {
    #[serde(default)]
    pub count: Option<f64>,
    #[serde(default)]
    pub sum: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub p95: Option<f64>,
    #[serde(default)]
    pub p99: Option<f64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A count as the answer gives it (a JSON number of any kind), as a whole number.
pub fn count(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value.round() as u64
    } else {
        0
    }
}

impl Client {
    /// `POST /api/v2/analytics/actions/aggregates/query`. Needs only read permission
    /// (`integrations:action:view`).
    pub async fn action_aggregates(
        &self,
        query: &AggregationQuery,
    ) -> Result<AggregateQueryResponse, Error> {
        let call = Call::new(Method::POST, QUERY.to_vec()).json(query)?;
        self.send_json(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_answer_and_unknown_fields_decode() {
        // Bug caught: `results` required, so "nothing executed" would be a decode error.
        let empty: AggregateQueryResponse = serde_json::from_value(json!({})).unwrap();
        assert!(empty.results.is_empty());
        // Bug caught: unknown fields refused or dropped; a missing view read as an error.
        let answer: AggregateQueryResponse = serde_json::from_value(json!({
            "results": [{"group": {"actionId": "a"}, "future": 1, "data": [{
                "interval": "x", "metrics": [{"metric": METRIC, "stats": {"count": 3, "q": 2}}],
                "views": [{"name": "t", "stats": {"count": 2.0}}]
            }]}]
        }))
        .unwrap();
        let result = &answer.results[0];
        assert_eq!(result.extra["future"], 1);
        assert_eq!(result.dimension("actionId"), Some("a"));
        let bucket = &result.data[0];
        assert_eq!(bucket.metric(METRIC).unwrap().count, Some(3.0));
        assert_eq!(bucket.metric(METRIC).unwrap().extra["q"], 2);
        assert_eq!(bucket.view_count("t"), 2);
        assert_eq!(bucket.view_count("missing"), 0);
    }

    #[test]
    fn a_query_serializes_as_the_contract_names_it() {
        let query = AggregationQuery {
            interval: "a/b".into(),
            group_by: vec!["actionId".into()],
            filter: Some(QueryFilter::any_action(["x"])),
            metrics: vec![METRIC.into()],
            views: vec![AggregationView::at_least("v", 950.0)],
            ..AggregationQuery::default()
        };
        // Bug caught: snake_case names, or `null` sent for an absent field.
        assert_eq!(
            serde_json::to_value(&query).unwrap(),
            json!({
                "interval": "a/b", "groupBy": ["actionId"], "metrics": [METRIC],
                "filter": {"type": "or", "predicates": [
                    {"type": "dimension", "dimension": "actionId", "operator": "matches", "value": "x"}
                ]},
                "views": [{"name": "v", "target": METRIC, "function": "rangeBound", "range": {"gte": 950.0, "lt": VIEW_END_MS}}]
            })
        );
    }
}
