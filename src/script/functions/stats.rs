//! `action_stats` and `suggest_timeout`: what the platform's execution statistics say of actions,
//! and the timeout they suggest (`change::stats` does the work; this is the script's side).

use std::sync::Arc;

use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map, NativeCallContext};

use crate::change::ActionInfo;
use crate::change::stats::{self, DEFAULT_FACTOR, DEFAULT_MIN_EXECUTIONS, MAX_DAYS};
use crate::script::convert;
use crate::script::errors::{ErrorMap, throw};
use crate::script::state;
use crate::script::values::ScriptAction;

type R<T> = Result<T, Box<EvalAltResult>>;

/// The window `action_stats` reads when not told.
pub const DEFAULT_DAYS: u32 = 7;
/// The most a `factor` may be: a timeout 10 × the p99 is already generous.
const MAX_FACTOR: f64 = 10.0;

/// The actions `values` name: an action is used as it is (only its timeout matters here, and
/// statistics do not change it); ids and maps are read, all in one `Session::resolve`. An id that
/// names no action is an error naming it.
fn actions_of(ctx: &NativeCallContext, values: &[Dynamic]) -> R<Vec<ActionInfo>> {
    let state = state::of(ctx)?;
    let mut found = Vec::with_capacity(values.len());
    let mut ids = Vec::new();
    for value in values {
        if let Some(action) = value.read_lock::<ScriptAction>() {
            found.push(ActionInfo::clone(&action.0));
        } else {
            ids.push(convert::action_id(value)?);
        }
    }
    if !ids.is_empty() {
        let resolved = state
            .session()?
            .resolve(&ids, true)
            .map_err(|e| ErrorMap::from_api(&e).throw())?;
        if let Some(id) = resolved.missing.first() {
            return Err(ErrorMap::local(
                "not_found",
                format!(
                    "action_stats: there is no action `{id}`{}; list the ids with \
                     `list_actions()` or `dactl actions list`.",
                    match resolved.missing.len() {
                        1 => String::new(),
                        n => format!(" (nor {} more of the ids given)", n - 1),
                    }
                ),
            )
            .with_action(id)
            .throw());
        }
        let infos: Vec<Arc<ActionInfo>> = resolved.found.into_iter().map(Arc::new).collect();
        state.remember(&infos);
        found.extend(infos.iter().map(|i| ActionInfo::clone(i)));
    }
    Ok(found)
}

fn stats_of(ctx: &NativeCallContext, actions: &[Dynamic], days: u32) -> R<Array> {
    let infos = actions_of(ctx, actions)?;
    if infos.is_empty() {
        return Ok(Array::new());
    }
    let state = state::of(ctx)?;
    let stats = state
        .session()?
        .action_stats(&infos, days)
        .map_err(|e| ErrorMap::from_api(&e).throw())?;
    Ok(stats.iter().map(convert::stats).collect())
}

/// `days` of `action_stats`' options: a whole number 1..=31.
fn days_of(options: &Map) -> R<u32> {
    const F: &str = "action_stats";
    convert::check_keys(F, options, &["days"])?;
    match convert::opt_int_option(F, options, "days")? {
        None => Ok(DEFAULT_DAYS),
        Some(d) if (1..=i64::from(MAX_DAYS)).contains(&d) => Ok(d as u32),
        Some(d) => throw(
            "invalid.argument",
            format!(
                "action_stats: `days: {d}` is out of range; the window is 1 to {MAX_DAYS} days, \
                 e.g. `#{{days: 7}}`."
            ),
        ),
    }
}

/// `suggest_timeout`'s options: `(factor, min_executions)`.
fn suggest_options(options: &Map) -> R<(f64, u64)> {
    const F: &str = "suggest_timeout";
    convert::check_keys(F, options, &["factor", "min_executions"])?;
    let factor = match options.get("factor").filter(|v| !v.is_unit()) {
        None => DEFAULT_FACTOR,
        Some(v) => {
            let f = v
                .as_float()
                .ok()
                .or_else(|| v.as_int().ok().map(|i| i as f64));
            match f {
                Some(f) if (1.0..=MAX_FACTOR).contains(&f) => f,
                _ => {
                    return throw(
                        "invalid.argument",
                        format!(
                            "suggest_timeout: `factor: {v}` must be a number from 1 to \
                             {MAX_FACTOR} (the timeout is factor × p99), e.g. `#{{factor: 3}}`."
                        ),
                    );
                }
            }
        }
    };
    let min_executions = match convert::opt_int_option(F, options, "min_executions")? {
        None => DEFAULT_MIN_EXECUTIONS,
        Some(n) if n >= 1 => n as u64,
        Some(n) => {
            return throw(
                "invalid.argument",
                format!(
                    "suggest_timeout: `min_executions: {n}` must be 1 or more: a timeout is \
                     never suggested from no executions, e.g. `#{{min_executions: 50}}`."
                ),
            );
        }
    };
    Ok((factor, min_executions))
}

fn suggest(stats: &Dynamic, options: &Map) -> R<Dynamic> {
    const F: &str = "suggest_timeout";
    let (factor, min_executions) = suggest_options(options)?;
    let Some(map) = stats.read_lock::<Map>() else {
        return throw(
            "invalid.argument",
            format!(
                "{F} takes one stats value (an item of what `action_stats` returned), not {}: \
                 write `suggest_timeout(action_stats([a])[0])` or map over the array.",
                stats.type_name()
            ),
        );
    };
    let stats = convert::stats_from(F, &map)?;
    Ok(stats::suggest_timeout(&stats, factor, min_executions)
        .map_or(Dynamic::UNIT, |s| Dynamic::from_int(i64::from(s))))
}

#[export_module]
pub mod stats_functions {
    /// Reads how `actions` (actions, action maps or ids) executed over the last 7 days, from the
    /// platform's analytics, and returns one stats value per action: the map `#{id, name,
    /// effective_timeout, executions, errors, errors_by_type, timeouts, mean_ms, max_ms, p95_ms,
    /// p99_ms, p99_estimated, window}`. `timeouts` counts executions at or over the action's
    /// effective timeout (`timeout_seconds`, or 60 when unset); `errors_by_type` maps the
    /// platform's `errorType` to a count. `p99_ms` is the platform's when it gives one, otherwise
    /// estimated from range counts (`p99_estimated` is then `true`); `p95_ms` only as given.
    /// A figure the window cannot give is `()`; an action that never ran has `executions == 0`.
    /// About 2 queries per 100 actions.
    ///
    /// Example: `for s in action_stats(list_actions()) { if s.timeouts > 0 { print(`${s.name}: ${s.timeouts} timed out`); } }`
    #[rhai_fn(name = "action_stats", return_raw)]
    pub fn action_stats(ctx: NativeCallContext, actions: Array) -> R<Array> {
        stats_of(&ctx, &actions, DEFAULT_DAYS)
    }

    /// Reads one action's execution statistics over the last 7 days (`action_or_id` is an action,
    /// an action map or an id) and returns its stats value alone, as `action_stats([a])[0]`.
    ///
    /// Example: `let s = action_stats(fetch_action("c0ffee00-0000-4000-8000-000000000001")); print(s.p99_ms);`
    #[rhai_fn(name = "action_stats", return_raw)]
    pub fn action_stats_one(ctx: NativeCallContext, action_or_id: Dynamic) -> R<Dynamic> {
        let mut all = stats_of(&ctx, std::slice::from_ref(&action_or_id), DEFAULT_DAYS)?;
        Ok(all.pop().unwrap_or(Dynamic::UNIT))
    }

    /// Reads execution statistics over the last `days` days (`#{days: 1..=31}`, default 7), as
    /// `action_stats(actions)` does.
    ///
    /// Example: `let month = action_stats(list_actions(#{category: "CRM"}), #{days: 30});`
    #[rhai_fn(name = "action_stats", return_raw)]
    pub fn action_stats_over(ctx: NativeCallContext, actions: Array, options: Map) -> R<Array> {
        let days = days_of(&options)?;
        stats_of(&ctx, &actions, days)
    }

    /// The timeout (whole seconds) a stats value suggests: `ceil(3 × p99)` clamped to 1..=60,
    /// and at least `max_ms` rounded up when executions timed out. `()` when the action ran fewer
    /// than 50 times in the window (too little evidence to size a timeout) or has no p99.
    ///
    /// Example: `let s = action_stats([a])[0]; let t = suggest_timeout(s); if t != () && t > a.effective_timeout { update_timeout(a, t); }`
    #[rhai_fn(name = "suggest_timeout", return_raw)]
    pub fn suggest_timeout(stats: Dynamic) -> R<Dynamic> {
        suggest(&stats, &Map::new())
    }

    /// The timeout a stats value suggests with options `#{factor, min_executions}`: `factor`
    /// (1..=10, default 3) times the p99, and `()` below `min_executions` executions (default
    /// 50): too little evidence.
    ///
    /// Example: `let t = suggest_timeout(s, #{factor: 4, min_executions: 200});`
    #[rhai_fn(name = "suggest_timeout", return_raw)]
    pub fn suggest_timeout_with(stats: Dynamic, options: Map) -> R<Dynamic> {
        suggest(&stats, &options)
    }
}
