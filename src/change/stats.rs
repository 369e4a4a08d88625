//! Execution statistics per action, from the platform's analytics (`genesys::analytics`), and the
//! timeout they suggest. Domain only: nothing here prints.
//!
//! [`Engine::action_stats`] reads a window of the last `days` days in two rounds of aggregate
//! queries, each query filtered to at most [`IDS_PER_QUERY`] actions by an OR of `actionId`
//! predicates:
//! 1. grouped by `actionId` and `errorType`: executions, errors by type, time sum, min and max,
//!    and one `rangeBound` view per effective timeout in the query at `timeout × 1000 − 50` ms
//!    (executions at or over the timeout: the platform cuts an execution within 50 ms of its
//!    timeout). Actions are sorted by effective timeout before they are chunked, so one view
//!    serves every action of that timeout in the query, and a query holds at most
//!    [`MAX_VIEWS`] distinct timeouts. Views left free hold a ladder of thresholds from 100 ms to
//!    60 s. Timeouts are never counted by `errorType`: its vocabulary is unknown (`NONE` is
//!    success; an `errorType` missing from a group reads as success).
//! 2. for the actions that executed and whose p99 is not yet known: grouped by `actionId` only
//!    (so `p99` is the action's, not one error type's), with ten views at thresholds placed among
//!    the actions' current p99 guesses. When the platform fills `p99`, it is used as given;
//!    otherwise the p99 is estimated from every view's count (`p99_estimated`).
//!
//! The estimate: with `n` executions, the p99 is the `ceil(0.99 n)`-th smallest time, so a view at
//! `L` counting at least `k = n − ceil(0.99 n) + 1` executions puts the p99 at or above `L`, and
//! fewer puts it below. The views, the minimum and the maximum bracket the p99; inside the bracket
//! the estimate interpolates log(count) against log(time) between its ends (a power-law tail). An action whose
//! bracket is already within [`TIGHT_MS`] after the first round (one that timed out often) needs
//! no second round, unless the platform fills percentiles. `p95` is reported only when the platform gives it.
//!
//! Cost: about `2 × ceil(actions / 100)` queries (1 000 actions: 20), more only when the
//! distinct timeouts of a chunk exceed ten.

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};

use crate::change::{ActionInfo, Engine};
use crate::genesys::Error;
use crate::genesys::analytics::{
    AggregateQueryResponse, AggregationQuery, AggregationView, MAX_VIEWS, METRIC, QueryFilter,
    count,
};

/// Most `actionId` predicates one query's filter carries (the platform's limit is UNCONFIRMED).
pub const IDS_PER_QUERY: usize = 100;
/// The effective timeout of an action without `timeoutSeconds` (the notes' "Unset timeouts").
pub const UNSET_TIMEOUT_SECONDS: u32 = 60;
/// Longest window `action_stats` reads, in days.
pub const MAX_DAYS: u32 = 31;
/// An execution this close to its timeout is cut by the platform: a view at `timeout × 1000 −
/// CUT_MARGIN_MS` counts the executions that timed out.
pub const CUT_MARGIN_MS: u32 = 50;
/// A p99 bracket this narrow (ms) after the first round needs no second.
pub const TIGHT_MS: f64 = 100.0;
/// `suggest_timeout`'s default factor (Genesys: "if the 99th percentile is 1 second, you could
/// set the action timeout to 3 seconds").
pub const DEFAULT_FACTOR: f64 = 3.0;
/// `suggest_timeout`'s default minimum of executions.
pub const DEFAULT_MIN_EXECUTIONS: u64 = 50;

const DAY_MS: i64 = 86_400_000;

/// One action's executions over a window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActionStats {
    pub id: String,
    pub name: Option<String>,
    /// The timeout the `timeouts` view used: `timeoutSeconds`, or 60 when unset.
    pub effective_timeout: u32,
    pub executions: u64,
    /// Executions whose `errorType` is not `NONE`.
    pub errors: u64,
    /// `errors` by `errorType` (`NONE` not included).
    pub errors_by_type: BTreeMap<String, u64>,
    /// Executions at or over `effective_timeout × 1000 − 50` ms.
    pub timeouts: u64,
    pub mean_ms: Option<f64>,
    pub max_ms: Option<u32>,
    /// As given by the platform; never estimated.
    pub p95_ms: Option<u32>,
    /// As given, or estimated (`p99_estimated`); `None` without executions.
    pub p99_ms: Option<u32>,
    pub p99_estimated: bool,
    /// The window read: `start/end`, ISO-8601 UTC with milliseconds.
    pub window: String,
}

/// The effective timeout of an action, in seconds: its `timeoutSeconds` (1..=60), 60 when unset.
/// For function data actions too: the platform cuts at the action's timeout.
pub fn effective_timeout(info: &ActionInfo) -> u32 {
    info.action
        .config
        .as_ref()
        .and_then(|c| c.timeout_seconds)
        .map_or(UNSET_TIMEOUT_SECONDS, |s| s.clamp(1, 60) as u32)
}

/// The last `days` days (24 h each) ending at `now_ms`: `start/end`.
pub fn window(now_ms: i64, days: u32) -> String {
    let start = now_ms - i64::from(days) * DAY_MS;
    format!("{}/{}", instant(start), instant(now_ms))
}

fn instant(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

/// The timeout `stats` suggest, in whole seconds: `ceil(factor × p99 / 1000)` clamped to 1..=60,
/// and when executions timed out, at least `max_ms` rounded up (still at most 60). `None` when
/// there were fewer than `min_executions` executions (too little evidence), or no p99.
pub fn suggest_timeout(stats: &ActionStats, factor: f64, min_executions: u64) -> Option<u32> {
    if stats.executions < min_executions.max(1) {
        return None;
    }
    let p99 = f64::from(stats.p99_ms?);
    let mut seconds = (factor * p99 / 1000.0).ceil().clamp(1.0, 60.0) as u32;
    if stats.timeouts > 0
        && let Some(max) = stats.max_ms
    {
        seconds = seconds.max(max.div_ceil(1000)).min(60);
    }
    Some(seconds)
}

/// What the answers told of one action so far.
#[derive(Debug, Default)]
struct Acc {
    executions: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    errors_by_type: BTreeMap<String, u64>,
    timeouts: u64,
    /// `(threshold ms, executions at or over it)` from every view.
    ladder: Vec<(f64, u64)>,
    /// Given percentiles: `(p95, p99)` of each group seen in round 1, or of the action in round 2.
    given: Vec<(Option<f64>, Option<f64>)>,
    /// Round 2's own answer (grouped by action alone).
    given_whole: Option<(Option<f64>, Option<f64>)>,
}

impl Acc {
    /// `k`: the executions at or over the p99 (see the module doc).
    fn at_or_over_p99(&self) -> u64 {
        let n = self.executions;
        n - (0.99 * n as f64).ceil() as u64 + 1
    }

    /// The p99 as given: round 2's, or round 1's when the action had a single group.
    fn given_p99(&self) -> Option<(Option<f64>, f64)> {
        if let Some((p95, Some(p99))) = self.given_whole {
            return Some((p95, p99));
        }
        match self.given.as_slice() {
            [(p95, Some(p99))] => Some((*p95, *p99)),
            _ => None,
        }
    }

    /// `(low, count at low, high, count at high)`: the p99 is in `low..=high`.
    fn bracket(&self) -> Option<(f64, u64, f64, u64)> {
        let (min, max) = (self.min?, self.max?);
        let k = self.at_or_over_p99();
        let (mut lo, mut c_lo, mut hi, mut c_hi) = (min, self.executions, max, 1);
        for &(at, c) in &self.ladder {
            if c >= k {
                if at > lo {
                    (lo, c_lo) = (at, c);
                }
            } else if at < hi {
                (hi, c_hi) = (at, c);
            }
        }
        Some((lo, c_lo, hi.max(lo), c_hi))
    }

    fn tight(&self) -> bool {
        self.bracket()
            .is_some_and(|(lo, _, hi, _)| hi - lo <= TIGHT_MS)
    }

    /// The estimated p99, interpolated geometrically inside the bracket.
    fn estimate(&self) -> Option<f64> {
        let (lo, c_lo, hi, c_hi) = self.bracket()?;
        if hi <= lo {
            return Some(lo);
        }
        let k = self.at_or_over_p99() as f64;
        // Counts fall off about as a power of the time in a latency tail: interpolate
        // log(count) against log(time).
        let (c_lo, c_hi) = (c_lo.max(1) as f64, c_hi.max(1) as f64);
        let f = if c_lo > c_hi {
            ((c_lo.ln() - k.ln()) / (c_lo.ln() - c_hi.ln())).clamp(0.0, 1.0)
        } else {
            0.5
        };
        Some(if lo > 0.0 {
            lo * (hi / lo).powf(f)
        } else {
            lo + f * (hi - lo)
        })
    }

    fn guess(&self) -> f64 {
        self.estimate().unwrap_or(1000.0).max(1.0)
    }
}

fn view_name(i: usize) -> String {
    format!("atLeast{i}")
}

/// One query: its actions, views and grouping.
struct Query {
    ids: Vec<String>,
    /// `(threshold ms, is this the timeout view of these seconds)`.
    views: Vec<(f64, Option<u32>)>,
    by_error_type: bool,
}

impl Query {
    fn build(&self, interval: &str) -> AggregationQuery {
        let mut group_by = vec!["actionId".to_string()];
        if self.by_error_type {
            group_by.push("errorType".into());
        }
        AggregationQuery {
            interval: interval.into(),
            granularity: None,
            group_by,
            filter: Some(QueryFilter::any_action(self.ids.iter().cloned())),
            metrics: vec![METRIC.into()],
            views: self
                .views
                .iter()
                .enumerate()
                .map(|(i, (at, _))| AggregationView::at_least(view_name(i), *at))
                .collect(),
        }
    }
}

/// Round 1: actions in timeout order, at most [`IDS_PER_QUERY`] actions and [`MAX_VIEWS`]
/// distinct timeouts per query; free views hold a ladder from 100 ms to 60 s.
fn first_round(actions: &[(String, u32)]) -> Vec<Query> {
    let mut queries: Vec<Query> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let mut timeouts: Vec<u32> = Vec::new();
    let mut flush = |ids: &mut Vec<String>, timeouts: &mut Vec<u32>| {
        if ids.is_empty() {
            return;
        }
        let mut views: Vec<(f64, Option<u32>)> = timeouts
            .iter()
            .map(|&t| (f64::from(t * 1000 - CUT_MARGIN_MS), Some(t)))
            .collect();
        let free = MAX_VIEWS - views.len();
        for i in 0..free {
            let at = (100.0 * 600f64.powf((i as f64 + 0.5) / free as f64)).round();
            views.push((at, None));
        }
        queries.push(Query {
            ids: std::mem::take(ids),
            views,
            by_error_type: true,
        });
        timeouts.clear();
    };
    for (id, timeout) in actions {
        let new_timeout = !timeouts.contains(timeout);
        if ids.len() == IDS_PER_QUERY || (new_timeout && timeouts.len() == MAX_VIEWS) {
            flush(&mut ids, &mut timeouts);
        }
        if !timeouts.contains(timeout) {
            timeouts.push(*timeout);
        }
        ids.push(id.clone());
    }
    flush(&mut ids, &mut timeouts);
    queries
}

/// Round 2: the given actions in order of their p99 guess, [`IDS_PER_QUERY`] a query, ten views
/// placed at the chunk's guesses (so each action has thresholds near its own).
fn second_round(mut guesses: Vec<(String, f64)>) -> Vec<Query> {
    guesses.sort_by(|a, b| a.1.total_cmp(&b.1));
    guesses
        .chunks(IDS_PER_QUERY)
        .map(|chunk| {
            let mut at: Vec<f64> = (0..MAX_VIEWS)
                .map(|i| {
                    let g = chunk[(i * chunk.len()) / MAX_VIEWS].1;
                    // Alternate just under and just over the guesses, to bracket them.
                    let bent = if i % 2 == 0 { g * 0.9 } else { g * 1.1 };
                    bent.round().max(1.0)
                })
                .collect();
            at.sort_by(f64::total_cmp);
            at.dedup();
            Query {
                ids: chunk.iter().map(|(id, _)| id.clone()).collect(),
                views: at.into_iter().map(|a| (a, None)).collect(),
                by_error_type: false,
            }
        })
        .collect()
}

/// Folds one answer into the accumulators.
fn absorb(
    accs: &mut HashMap<String, Acc>,
    timeout_of: &HashMap<String, u32>,
    query: &Query,
    answer: AggregateQueryResponse,
) {
    for result in answer.results {
        let Some(id) = result.dimension("actionId").map(str::to_owned) else {
            continue;
        };
        let Some(acc) = accs.get_mut(&id) else {
            continue;
        };
        let error_type = result.dimension("errorType").unwrap_or("NONE").to_owned();
        let mut counts = vec![0u64; query.views.len()];
        let (mut p95, mut p99) = (None, None);
        let mut executions = 0;
        for bucket in &result.data {
            if let Some(stats) = bucket.metric(METRIC) {
                let n = stats.count.map_or(0, count);
                executions += n;
                if query.by_error_type {
                    acc.executions += n;
                    acc.sum += stats.sum.unwrap_or(0.0);
                    acc.min = min_of(acc.min, stats.min);
                    acc.max = max_of(acc.max, stats.max);
                }
                (p95, p99) = (stats.p95, stats.p99);
            }
            for (i, c) in counts.iter_mut().enumerate() {
                *c += bucket.view_count(&view_name(i));
            }
        }
        if query.by_error_type {
            if error_type != "NONE" && executions > 0 {
                *acc.errors_by_type.entry(error_type).or_default() += executions;
            }
            acc.given.push((p95, p99));
        } else {
            acc.given_whole = Some((p95, p99));
        }
        let timeout = timeout_of.get(&id).copied();
        for ((at, of), c) in query.views.iter().zip(counts) {
            if query.by_error_type && of.is_some() && *of == timeout {
                acc.timeouts += c;
            }
            match acc.ladder.iter_mut().find(|(a, _)| a == at) {
                Some((_, total)) if query.by_error_type => *total += c,
                Some(_) => {}
                None => acc.ladder.push((*at, c)),
            }
        }
    }
}

fn min_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn ms(value: f64) -> u32 {
    value.round().clamp(0.0, f64::from(u32::MAX)) as u32
}

impl Engine {
    /// Execution statistics of `actions` over the last `days` days (clamped to
    /// 1..=[`MAX_DAYS`]; callers check it with their own message), one per distinct action, in
    /// the order given. An action that never executed has `executions == 0`. Costs about two
    /// queries per [`IDS_PER_QUERY`] actions (see the module doc); every query goes through the
    /// client's send path, so a refusal is the platform's error, verbatim.
    pub async fn action_stats(
        &self,
        actions: &[ActionInfo],
        days: u32,
    ) -> Result<Vec<ActionStats>, Error> {
        let days = days.clamp(1, MAX_DAYS);
        let interval = window(jiff::Timestamp::now().as_millisecond(), days);
        let mut order: Vec<(String, u32)> = Vec::new();
        let mut timeout_of: HashMap<String, u32> = HashMap::new();
        let mut names: HashMap<String, Option<String>> = HashMap::new();
        for info in actions {
            if timeout_of.contains_key(&info.action.id) {
                continue;
            }
            let timeout = effective_timeout(info);
            timeout_of.insert(info.action.id.clone(), timeout);
            names.insert(info.action.id.clone(), info.action.name.clone());
            order.push((info.action.id.clone(), timeout));
        }
        let mut sorted = order.clone();
        sorted.sort_by_key(|(_, t)| *t);
        let mut accs: HashMap<String, Acc> = order
            .iter()
            .map(|(id, _)| (id.clone(), Acc::default()))
            .collect();

        let first = first_round(&sorted);
        self.run_queries(&first, &interval, &mut accs, &timeout_of)
            .await?;

        let pending: Vec<(String, f64)> = order
            .iter()
            .filter_map(|(id, _)| {
                let acc = &accs[id];
                // A tight bracket is enough, unless the platform fills percentiles (some group
                // had one): then round 2 asks for the action's own, exact.
                let filled = acc.given.iter().any(|(_, p99)| p99.is_some());
                (acc.executions > 0 && acc.given_p99().is_none() && (filled || !acc.tight()))
                    .then(|| (id.clone(), acc.guess()))
            })
            .collect();
        let second = second_round(pending);
        self.run_queries(&second, &interval, &mut accs, &timeout_of)
            .await?;

        Ok(order
            .into_iter()
            .map(|(id, timeout)| {
                let acc = accs.remove(&id).unwrap_or_default();
                let given = acc.given_p99();
                let (p95, p99, estimated) = match given {
                    Some((p95, p99)) => (p95.map(ms), Some(ms(p99)), false),
                    None => (None, acc.estimate().map(ms), acc.executions > 0),
                };
                ActionStats {
                    name: names.remove(&id).flatten(),
                    id,
                    effective_timeout: timeout,
                    executions: acc.executions,
                    errors: acc.errors_by_type.values().sum(),
                    errors_by_type: acc.errors_by_type,
                    timeouts: acc.timeouts,
                    mean_ms: (acc.executions > 0).then(|| acc.sum / acc.executions as f64),
                    max_ms: acc.max.map(ms),
                    p95_ms: p95,
                    p99_ms: p99,
                    p99_estimated: estimated && p99.is_some(),
                    window: interval.clone(),
                }
            })
            .collect())
    }

    async fn run_queries(
        &self,
        queries: &[Query],
        interval: &str,
        accs: &mut HashMap<String, Acc>,
        timeout_of: &HashMap<String, u32>,
    ) -> Result<(), Error> {
        let client = &self.client;
        let mut answers = futures::stream::iter(queries.iter().map(|query| async move {
            let answer = client.action_aggregates(&query.build(interval)).await?;
            Ok::<_, Error>((query, answer))
        }))
        .buffer_unordered(self.concurrency);
        while let Some((query, answer)) = answers.try_next().await? {
            absorb(accs, timeout_of, query, answer);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(executions: u64, timeouts: u64, max_ms: u32, p99_ms: Option<u32>) -> ActionStats {
        ActionStats {
            id: "a".into(),
            name: None,
            effective_timeout: 10,
            executions,
            errors: 0,
            errors_by_type: BTreeMap::new(),
            timeouts,
            mean_ms: None,
            max_ms: Some(max_ms),
            p95_ms: None,
            p99_ms,
            p99_estimated: false,
            window: String::new(),
        }
    }

    #[test]
    fn suggestions_follow_the_rule() {
        // p99 1 s, factor 3: 3 s (Genesys' own example). Bug caught: p99 read as seconds, or
        // the factor ignored.
        assert_eq!(
            suggest_timeout(&stats(100, 0, 1500, Some(1000)), 3.0, 50),
            Some(3)
        );
        // ceil, not round: 3 × 1.1 s = 3.3 s → 4. Bug caught: rounding down cuts executions.
        assert_eq!(
            suggest_timeout(&stats(100, 0, 1500, Some(1100)), 3.0, 50),
            Some(4)
        );
        // Fast actions still get 1 s. Bug caught: a suggestion of 0, which the API refuses.
        assert_eq!(
            suggest_timeout(&stats(100, 0, 20, Some(5)), 3.0, 50),
            Some(1)
        );
        // Never above 60. Bug caught: a suggestion the API refuses.
        assert_eq!(
            suggest_timeout(&stats(100, 0, 59_000, Some(50_000)), 3.0, 50),
            Some(60)
        );
        // Timeouts seen: at least the max rounded up. Bug caught: a suggestion below what the
        // endpoint already needed.
        assert_eq!(
            suggest_timeout(&stats(100, 3, 9_020, Some(2_000)), 3.0, 50),
            Some(10)
        );
        // ...still at most 60. Bug caught: max of a cut 60 s execution (60 040 ms) gives 61.
        assert_eq!(
            suggest_timeout(&stats(100, 3, 60_040, Some(2_000)), 3.0, 50),
            Some(60)
        );
        // No timeouts: the max does not count. Bug caught: one slow outlier raising the timeout.
        assert_eq!(
            suggest_timeout(&stats(100, 0, 9_020, Some(2_000)), 3.0, 50),
            Some(6)
        );
        // Too few executions: no suggestion. Bug caught: advice from noise.
        assert_eq!(suggest_timeout(&stats(49, 0, 100, Some(90)), 3.0, 50), None);
        assert_eq!(
            suggest_timeout(&stats(50, 0, 100, Some(90)), 3.0, 50),
            Some(1)
        );
        // No executions at all, even with a minimum of 0. Bug caught: a suggestion from nothing.
        assert_eq!(suggest_timeout(&stats(0, 0, 0, None), 3.0, 0), None);
        // No p99: none. Bug caught: a panic or a default taken for evidence.
        assert_eq!(suggest_timeout(&stats(100, 0, 100, None), 3.0, 50), None);
    }

    #[test]
    fn the_estimate_brackets_the_p99() {
        // 1 000 executions: p99 is the 990th, so k = 11 at or over it.
        let acc = Acc {
            executions: 1000,
            min: Some(10.0),
            max: Some(5000.0),
            ladder: vec![(500.0, 40), (1000.0, 12), (2000.0, 3)],
            ..Acc::default()
        };
        assert_eq!(acc.at_or_over_p99(), 11);
        // Bug caught: a bracket read the wrong way round (count ≥ k means p99 ≥ threshold).
        let (lo, _, hi, _) = acc.bracket().unwrap();
        assert_eq!((lo, hi), (1000.0, 2000.0));
        let estimate = acc.estimate().unwrap();
        assert!((1000.0..=2000.0).contains(&estimate), "{estimate}");
    }

    #[test]
    fn round_one_packs_by_timeout() {
        let actions: Vec<(String, u32)> = (0..250).map(|i| (format!("a{i}"), 1 + i / 10)).collect();
        let queries = first_round(&actions);
        // Bug caught: more than 100 ids or 10 views per query, or an action left out.
        assert!(queries.iter().all(|q| q.ids.len() <= IDS_PER_QUERY));
        assert!(queries.iter().all(|q| q.views.len() <= MAX_VIEWS));
        assert_eq!(queries.iter().map(|q| q.ids.len()).sum::<usize>(), 250);
        assert_eq!(queries.len(), 3);
        let first = &queries[0];
        assert_eq!(first.views[0], (950.0, Some(1)));
    }
}
