//! The seeded execution history behind `POST /api/v2/analytics/actions/aggregates/query` and
//! `GET /sandbox/executions`: what every action of the org did over the last [`HISTORY_DAYS`]
//! days, before the sandbox started.
//!
//! Nothing per execution is stored. Each action gets a [`Profile`] (a few numbers drawn from the
//! sandbox seed and the action id: how busy it is, its latency distribution, its error rate and
//! the timeout its executions were cut at), and each (action, day) an `Rng` seeded from the
//! profile's key and the day number. [`History::for_each`] replays the executions of the days a
//! window touches from those seeds, always the same ones in the same order, and keeps those inside
//! the window. So a 10 000-action org costs about 10 000 profiles (well under 2 MB) and a query
//! costs the executions it reads, generated on the fly; see the module tests for the figures.
//!
//! The model, per action:
//! - executions per day: about 8 % of actions never run; the others run 5 to 800 times a day
//!   (most under 250), a third as often on Saturdays and Sundays, ±30 % from day to day;
//! - latency: log-normal (a median and a spread); most actions are fast (40 ms to 2.5 s), one in
//!   ten runs close to its timeout and one in twenty past it;
//! - cut at the timeout, as the platform does: an execution that would take longer than its
//!   action's effective timeout (unset: 60 s, see the notes' "Unset timeouts"), or within
//!   [`CUT_MARGIN_MS`] of it, is ended by the platform and recorded at the timeout plus up to
//!   [`CUT_OVERHEAD_MS`] of handling. Every cut execution is therefore at or over
//!   `timeout × 1000 − 50` ms and every other one below it: what a `rangeBound` view counts.
//!   The timeout is the one the action had when the sandbox started: the history is the past,
//!   and a timeout changed during the run does not rewrite it;
//! - errors: see [`OUTCOMES`]. Success is `errorType` `NONE`; the rest of the vocabulary is MADE
//!   UP (the notes: the platform's `errorType` and `responseStatus` values are unknown). A cut
//!   execution is a `REMOTE_ENDPOINT_ERROR` with status `504`, and so are fast 504s of remote
//!   gateways: on purpose, nothing in `errorType`/`responseStatus` tells a timeout apart, so a
//!   client that counts timeouts by error type is caught.
//!
//! Times are whole milliseconds since the Unix epoch; days are UTC days.

use std::collections::HashMap;

/// Days of history before the day the sandbox started (that day counts too, up to the start).
pub const HISTORY_DAYS: i64 = 45;
/// An execution drawn within this many ms of its timeout is cut too (its response handling
/// would take it over).
pub const CUT_MARGIN_MS: u32 = 50;
/// A cut execution is recorded at the timeout plus `0..CUT_OVERHEAD_MS` ms.
pub const CUT_OVERHEAD_MS: u32 = 40;
/// The timeout of an action without `timeoutSeconds`.
pub const UNSET_TIMEOUT_SECONDS: i64 = 60;

pub const DAY_MS: i64 = 86_400_000;

/// `(errorType, responseStatus)` of every outcome. Index 0 is success. MADE UP apart from
/// `NONE`: the notes say the platform's values are unknown.
pub const OUTCOMES: &[(&str, &str)] = &[
    ("NONE", "200"),
    ("REMOTE_ENDPOINT_ERROR", "500"),
    ("REMOTE_ENDPOINT_ERROR", "502"),
    ("REMOTE_ENDPOINT_ERROR", "503"),
    ("REMOTE_ENDPOINT_ERROR", "404"),
    ("REMOTE_ENDPOINT_ERROR", "401"),
    ("REMOTE_ENDPOINT_ERROR", "429"),
    ("TRANSLATION_ERROR", "200"),
    ("REQUEST_TEMPLATE_ERROR", "400"),
    // A remote gateway's own 504, fast; and every execution cut at the timeout.
    ("REMOTE_ENDPOINT_ERROR", "504"),
];
/// The outcome of a cut execution.
pub const CUT_OUTCOME: u8 = 9;
/// Weights of the error outcomes 1..=9 when an execution fails on its own.
const ERROR_WEIGHTS: [u32; 9] = [30, 12, 12, 10, 4, 6, 14, 6, 6];

/// Distinct `errorType` values, in first-seen order of [`OUTCOMES`].
pub const ERROR_TYPES: &[&str] = &[
    "NONE",
    "REMOTE_ENDPOINT_ERROR",
    "TRANSLATION_ERROR",
    "REQUEST_TEMPLATE_ERROR",
];

/// Index in [`ERROR_TYPES`] of an outcome's `errorType`.
pub fn error_type_index(outcome: u8) -> usize {
    let name = OUTCOMES[outcome as usize].0;
    ERROR_TYPES.iter().position(|t| *t == name).unwrap_or(0)
}

/// What one action did, as numbers: enough to replay every execution.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// From the sandbox seed and the action id; seeds every day's `Rng`.
    key: u64,
    /// Mean executions on a weekday; 0 for an action that never runs.
    per_day: f32,
    /// Log-normal latency: median (ms) and spread (sigma of the log).
    median_ms: f32,
    sigma: f32,
    /// Chance that an execution that was not cut fails on its own.
    error_rate: f32,
    /// The effective timeout its executions were cut at, in ms.
    pub timeout_ms: u32,
}

/// One execution, replayed.
#[derive(Debug, Clone, Copy)]
pub struct Execution {
    /// When it started, ms since the epoch.
    pub at_ms: i64,
    /// `tTotalExecution`, whole ms.
    pub ms: u32,
    /// Index in [`OUTCOMES`].
    pub outcome: u8,
    /// Ended by the platform at the timeout.
    pub cut: bool,
    /// The UTC day (days since the epoch) and its place in that day's replay: together with the
    /// action, a unique name (see [`correlation_id`]).
    pub day: i64,
    pub index: u32,
}

/// Every action's profile and the span of time the history covers.
#[derive(Debug)]
pub struct History {
    profiles: HashMap<String, Profile>,
    /// The history ends when the sandbox started (exclusive) and begins [`HISTORY_DAYS`] whole
    /// days before that day.
    pub start_ms: i64,
    pub end_ms: i64,
}

/// FNV-1a: stable across Rust versions and platforms (std's hasher promises neither).
fn fnv(bytes: impl IntoIterator<Item = u8>, mut hash: u64) -> u64 {
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn mix(a: u64, b: u64) -> u64 {
    // splitmix64 finaliser over the pair.
    let mut z = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn range(rng: &mut fastrand::Rng, low: f32, high: f32) -> f32 {
    low + rng.f32() * (high - low)
}

impl Profile {
    /// The profile of action `id` under `seed`, its executions cut at `timeout_seconds` (unset:
    /// 60 s).
    pub fn new(seed: u64, id: &str, timeout_seconds: Option<i64>) -> Profile {
        let key = fnv(
            seed.to_le_bytes().into_iter().chain(id.bytes()),
            0xcbf2_9ce4_8422_2325,
        );
        let mut rng = fastrand::Rng::with_seed(key);
        let timeout_s = timeout_seconds
            .unwrap_or(UNSET_TIMEOUT_SECONDS)
            .clamp(1, 60);
        let timeout_ms = (timeout_s * 1000) as u32;
        let volume = rng.f32();
        let per_day = if volume < 0.08 {
            0.0
        } else if volume < 0.65 {
            range(&mut rng, 5.0, 60.0)
        } else if volume < 0.94 {
            range(&mut rng, 60.0, 250.0)
        } else {
            range(&mut rng, 250.0, 800.0)
        };
        let speed = rng.f32();
        let timeout = timeout_ms as f32;
        let (median_ms, sigma) = if speed < 0.65 {
            (range(&mut rng, 40.0, 400.0), range(&mut rng, 0.25, 0.6))
        } else if speed < 0.85 {
            (range(&mut rng, 400.0, 2500.0), range(&mut rng, 0.3, 0.7))
        } else if speed < 0.95 {
            // Close to the timeout: its slowest executions are cut.
            (
                timeout * range(&mut rng, 0.25, 0.6),
                range(&mut rng, 0.35, 0.6),
            )
        } else {
            // Past it: most executions are cut.
            (
                timeout * range(&mut rng, 0.7, 1.5),
                range(&mut rng, 0.3, 0.5),
            )
        };
        let errors = rng.f32();
        let error_rate = if errors < 0.75 {
            range(&mut rng, 0.001, 0.02)
        } else if errors < 0.95 {
            range(&mut rng, 0.02, 0.08)
        } else {
            range(&mut rng, 0.1, 0.35)
        };
        Profile {
            key,
            per_day,
            median_ms,
            sigma,
            error_rate,
            timeout_ms,
        }
    }

    /// Replays day `day` (UTC days since the epoch) in full, in a fixed order.
    fn replay_day(&self, day: i64, mut f: impl FnMut(Execution)) {
        if self.per_day <= 0.0 {
            return;
        }
        let mut rng = fastrand::Rng::with_seed(mix(self.key, day as u64));
        // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Monday, 5 and 6 on the weekend.
        let weekend = (day + 3).rem_euclid(7) >= 5;
        let mean = self.per_day * if weekend { 0.35 } else { 1.0 } * range(&mut rng, 0.7, 1.3);
        let count = mean.round() as u32;
        let start = day * DAY_MS;
        let cut_from = self.timeout_ms.saturating_sub(CUT_MARGIN_MS);
        for index in 0..count {
            let at_ms = start + i64::from(rng.u32(0..DAY_MS as u32));
            // Box-Muller: a standard normal from two uniforms.
            let u1 = 1.0 - rng.f64();
            let u2 = rng.f64();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let drawn = (f64::from(self.median_ms) * (f64::from(self.sigma) * z).exp())
                .round()
                .max(1.0)
                .min(f64::from(u32::MAX / 2)) as u32;
            let fails = rng.f32() < self.error_rate;
            let pick = rng.u32(0..ERROR_WEIGHTS.iter().sum::<u32>());
            let overhead = rng.u32(0..CUT_OVERHEAD_MS);
            let execution = if drawn >= cut_from {
                Execution {
                    at_ms,
                    ms: self.timeout_ms + overhead,
                    outcome: CUT_OUTCOME,
                    cut: true,
                    day,
                    index,
                }
            } else {
                let outcome = if fails {
                    let mut left = pick;
                    let mut chosen = ERROR_WEIGHTS.len();
                    for (i, weight) in ERROR_WEIGHTS.iter().enumerate() {
                        if left < *weight {
                            chosen = i + 1;
                            break;
                        }
                        left -= weight;
                    }
                    chosen as u8
                } else {
                    0
                };
                Execution {
                    at_ms,
                    ms: drawn,
                    outcome,
                    cut: false,
                    day,
                    index,
                }
            };
            f(execution);
        }
    }

    /// The correlation id of one execution: UUID-shaped, stable for (action, day, index).
    pub fn correlation_id(&self, execution: &Execution) -> String {
        let a = mix(self.key, execution.day as u64);
        let b = mix(a, u64::from(execution.index));
        let hex = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

impl History {
    /// The history of `actions` (id, `timeoutSeconds` as configured) under `seed`, ending at
    /// `now_ms`.
    pub fn new<'a>(
        seed: u64,
        actions: impl IntoIterator<Item = (&'a str, Option<i64>)>,
        now_ms: i64,
    ) -> History {
        let profiles = actions
            .into_iter()
            .map(|(id, timeout)| (id.to_owned(), Profile::new(seed, id, timeout)))
            .collect();
        History {
            profiles,
            start_ms: (now_ms.div_euclid(DAY_MS) - HISTORY_DAYS) * DAY_MS,
            end_ms: now_ms,
        }
    }

    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.get(id)
    }

    /// Every execution of `profile` that started in `[from_ms, to_ms)`, day by day in a fixed
    /// order (not sorted by time within a day).
    pub fn for_each(
        &self,
        profile: &Profile,
        from_ms: i64,
        to_ms: i64,
        mut f: impl FnMut(Execution),
    ) {
        let from = from_ms.max(self.start_ms);
        let to = to_ms.min(self.end_ms);
        if from >= to {
            return;
        }
        for day in from.div_euclid(DAY_MS)..=(to - 1).div_euclid(DAY_MS) {
            let whole = day * DAY_MS >= from && (day + 1) * DAY_MS <= to;
            profile.replay_day(day, |e| {
                if whole || (e.at_ms >= from && e.at_ms < to) {
                    f(e);
                }
            });
        }
    }
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of `values`, which it sorts; `None` when empty.
/// The same function serves the query's `p95`/`p99` and `/sandbox/executions`' truth.
pub fn percentile(values: &mut [u32], p: f64) -> Option<u32> {
    if values.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    let (_, value, _) = values.select_nth_unstable(rank.min(values.len()) - 1);
    Some(*value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;

    fn all(history: &History, id: &str) -> Vec<Execution> {
        let mut out = Vec::new();
        let profile = history.profile(id).unwrap();
        history.for_each(profile, i64::MIN, i64::MAX, |e| out.push(e));
        out
    }

    #[test]
    fn the_same_seed_and_id_replay_the_same_executions() {
        let ids: Vec<String> = (0..50).map(|i| format!("action-{i}")).collect();
        let history = History::new(7, ids.iter().map(|id| (id.as_str(), Some(10))), NOW);
        let again = History::new(7, ids.iter().map(|id| (id.as_str(), Some(10))), NOW);
        let other = History::new(8, ids.iter().map(|id| (id.as_str(), Some(10))), NOW);
        let key = |h: &History| -> Vec<(i64, u32, u8)> {
            ids.iter()
                .flat_map(|id| all(h, id))
                .map(|e| (e.at_ms, e.ms, e.outcome))
                .collect()
        };
        assert!(!key(&history).is_empty());
        assert_eq!(key(&history), key(&again));
        assert_ne!(key(&history), key(&other));
    }

    #[test]
    fn a_window_sees_exactly_the_executions_that_started_in_it() {
        let ids: Vec<String> = (0..20).map(|i| format!("w-{i}")).collect();
        let history = History::new(3, ids.iter().map(|id| (id.as_str(), None)), NOW);
        let (from, to) = (NOW - 3 * DAY_MS - 12_345, NOW - DAY_MS + 777);
        for id in &ids {
            let expected: Vec<i64> = all(&history, id)
                .into_iter()
                .map(|e| e.at_ms)
                .filter(|at| (from..to).contains(at))
                .collect();
            let mut seen = Vec::new();
            history.for_each(history.profile(id).unwrap(), from, to, |e| {
                seen.push(e.at_ms)
            });
            assert_eq!(seen, expected, "{id}");
        }
        // Nothing after the start of the sandbox, nothing before the history.
        for id in &ids {
            for e in all(&history, id) {
                assert!(e.at_ms < NOW && e.at_ms >= history.start_ms);
            }
        }
    }

    #[test]
    fn cut_executions_and_only_they_reach_the_timeout_less_50_ms() {
        let ids: Vec<String> = (0..300).map(|i| format!("c-{i}")).collect();
        let history = History::new(11, ids.iter().map(|id| (id.as_str(), Some(2))), NOW);
        let mut cut = 0;
        for id in &ids {
            for e in all(&history, id) {
                assert_eq!(e.cut, e.ms >= 2000 - CUT_MARGIN_MS, "{e:?}");
                if e.cut {
                    cut += 1;
                    assert!(e.ms >= 2000 && e.ms < 2000 + CUT_OVERHEAD_MS);
                    assert_eq!(
                        OUTCOMES[e.outcome as usize],
                        ("REMOTE_ENDPOINT_ERROR", "504")
                    );
                }
            }
        }
        assert!(cut > 0, "some actions run past a 2 s timeout");
    }

    #[test]
    fn the_org_has_idle_busy_slow_and_failing_actions() {
        let ids: Vec<String> = (0..300).map(|i| format!("m-{i}")).collect();
        let history = History::new(1, ids.iter().map(|id| (id.as_str(), None)), NOW);
        let (mut idle, mut timing_out, mut failing) = (0, 0, 0);
        for id in &ids {
            let executions = all(&history, id);
            idle += usize::from(executions.is_empty());
            timing_out += usize::from(executions.iter().any(|e| e.cut));
            failing += usize::from(executions.iter().any(|e| !e.cut && e.outcome != 0));
        }
        assert!((10..60).contains(&idle), "{idle} idle");
        assert!(timing_out >= 10, "{timing_out} timing out");
        assert!(failing >= 200, "{failing} failing");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut values, 99.0), Some(99));
        assert_eq!(percentile(&mut values, 95.0), Some(95));
        assert_eq!(percentile(&mut [7], 99.0), Some(7));
        assert_eq!(percentile(&mut [], 99.0), None);
    }
}
