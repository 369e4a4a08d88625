//! The aggregates query and its answer on the wire: the contract's `ActionAggregationQuery`
//! and `ActionAggregateQueryResponse`, the sandbox's own types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Wire types: the request

/// `ActionAggregationQuery`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AggregationQuery {
    pub(super) interval: Option<String>,
    pub(super) granularity: Option<String>,
    #[allow(dead_code)]
    pub(super) time_zone: Option<String>,
    pub(super) group_by: Option<Vec<String>>,
    pub(super) filter: Option<QueryFilter>,
    pub(super) metrics: Option<Vec<String>>,
    #[allow(dead_code)]
    pub(super) flatten_multivalued_dimensions: Option<bool>,
    pub(super) views: Option<Vec<AggregationView>>,
    pub(super) alternate_time_dimension: Option<String>,
}

/// `ActionAggregateQueryFilter`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryFilter {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) clauses: Option<Vec<QueryClause>>,
    pub(super) predicates: Option<Vec<QueryPredicate>>,
}

/// `ActionAggregateQueryClause`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryClause {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) predicates: Option<Vec<QueryPredicate>>,
}

/// `ActionAggregateQueryPredicate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryPredicate {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) dimension: Option<String>,
    pub(super) operator: Option<String>,
    pub(super) value: Option<String>,
    pub(super) range: Option<NumericRange>,
}

/// `NumericRange`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NumericRange {
    pub(super) gt: Option<f64>,
    pub(super) gte: Option<f64>,
    pub(super) lt: Option<f64>,
    pub(super) lte: Option<f64>,
}

/// `ActionAggregationView`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AggregationView {
    pub(super) target: Option<String>,
    pub(super) name: Option<String>,
    pub(super) function: Option<String>,
    pub(super) range: Option<AggregationRange>,
}

/// `AggregationRange`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AggregationRange {
    pub(super) gte: Option<f64>,
    pub(super) lt: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Wire types: the response

/// `ActionAggregateQueryResponse`.
#[derive(Debug, Serialize)]
pub struct AggregateQueryResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) results: Vec<DataContainer>,
}

/// `ActionAggregateDataContainer`.
#[derive(Debug, Serialize)]
pub(super) struct DataContainer {
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub(super) group: serde_json::Map<String, Value>,
    pub(super) data: Vec<StatisticalResponse>,
}

/// `StatisticalResponse`.
#[derive(Debug, Serialize)]
pub(super) struct StatisticalResponse {
    pub(super) interval: String,
    pub(super) metrics: Vec<MetricData>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) views: Vec<ViewData>,
}

/// `AggregateMetricData`.
#[derive(Debug, Serialize)]
pub(super) struct MetricData {
    pub(super) metric: &'static str,
    pub(super) stats: StatisticalSummary,
}

/// `AggregateViewData`.
#[derive(Debug, Serialize)]
pub(super) struct ViewData {
    pub(super) name: String,
    pub(super) stats: StatisticalSummary,
}

/// `StatisticalSummary`: the fields the sandbox fills.
#[derive(Debug, Default, Serialize)]
pub(super) struct StatisticalSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) min: Option<f64>,
    pub(super) count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) p95: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) p99: Option<u64>,
}
