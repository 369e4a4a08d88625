//! A [`Plan`] evaluated over the seeded history: the contract's answer, and the truth.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::sandbox::error::{ApiError, ApiResult};
use crate::sandbox::executions::{
    DAY_MS, ERROR_TYPES, Execution, History, OUTCOMES, Profile, error_type_index, percentile,
};
use crate::sandbox::state::State as Org;
use crate::sandbox::variants::Percentiles;

use super::query::*;
use super::wire::*;
use super::*;

// ---------------------------------------------------------------------------------------------
// Evaluation

/// An action as the query sees it: its history and its own dimensions' values.
#[derive(Debug, Clone)]
pub struct ActionRow {
    pub(super) profile: Profile,
    /// category, id, name, integration id, integration name (see [`Dim::action_slot`]).
    pub(super) values: [String; 5],
}

/// The action's own dimension values, borrowed from the org.
pub(super) fn action_values<'a>(
    org: &'a Org,
    action: &'a crate::sandbox::state::StoredAction,
) -> [&'a str; 5] {
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
pub(super) fn value_of<'a>(
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

pub(super) fn in_range(range: &NumericRange, ms: f64) -> bool {
    range.gt.is_none_or(|b| ms > b)
        && range.gte.is_none_or(|b| ms >= b)
        && range.lt.is_none_or(|b| ms < b)
        && range.lte.is_none_or(|b| ms <= b)
}

/// A predicate's truth, or `None` when it depends on an execution not given.
pub(super) fn test(
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
pub(super) fn combine(logic: Logic, items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
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
    pub(super) fn eval(
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
pub(super) struct Acc {
    pub(super) count: u64,
    pub(super) sum: u64,
    pub(super) min: u32,
    pub(super) max: u32,
    /// Every value, only when percentiles are served.
    pub(super) values: Vec<u32>,
    pub(super) views: Vec<u64>,
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

    pub(super) fn statistics(
        &self,
        bucket: i64,
        mut acc: Acc,
        keep_values: bool,
    ) -> StatisticalResponse {
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
