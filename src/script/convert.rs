//! Values crossing between Rust and scripts. Data goes out through serde (`to_dynamic`), so the
//! models need no Rhai code; actions and changes go out as shared values (`values`); the few
//! values coming back in (timeouts, changes, options) are checked here with messages that name
//! the argument and the fix.

use std::sync::Arc;

use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde_json::{Value, json};

use super::errors::{ErrorMap, throw};
use super::values::{self, ScriptAction, ScriptChange};
use crate::change::stats::ActionStats;
use crate::change::{ActionInfo, Change, Kind, Status, Timeout, Verification};
use crate::session::AuthInfo;

type R<T> = Result<T, Box<EvalAltResult>>;

fn to_dynamic(value: Value) -> Dynamic {
    // Serialising a `serde_json::Value` into a Dynamic cannot fail.
    rhai::serde::to_dynamic(value).unwrap_or_default()
}

/// An action for a script: the host's own action, shared (see `script::values`).
pub fn action(info: Arc<ActionInfo>) -> Dynamic {
    values::action(info)
}

/// An action as a plain map: `id, name, category, integration_id, version, secure,
/// timeout_seconds, effective_timeout, kind, config` (and `function_timeout_seconds` for function data actions),
/// for output that is not a script's (`actions get`, `actions list --json`).
pub fn action_map(info: &ActionInfo) -> Dynamic {
    Dynamic::from_map(values::action_map(info))
}

pub fn action_maps(infos: &[ActionInfo]) -> Dynamic {
    Dynamic::from_array(infos.iter().map(action_map).collect())
}

/// One action's execution statistics for a script: the map `#{id, name, effective_timeout,
/// executions, errors, errors_by_type, timeouts, mean_ms, max_ms, p95_ms, p99_ms,
/// p99_estimated, window}`; a figure the window cannot give (no executions, a percentile the
/// platform did not fill) is `()`.
pub fn stats(stats: &ActionStats) -> Dynamic {
    to_dynamic(json!(stats))
}

/// What `suggest_timeout` reads of a `stats` map (from `action_stats`, or one written by hand):
/// `executions` is required; `p99_ms`, `timeouts` and `max_ms` may be `()` or left out.
pub fn stats_from(function: &str, map: &Map) -> R<ActionStats> {
    let count = |key: &str, required: bool| -> R<Option<u64>> {
        match map.get(key) {
            None if required => throw(
                "invalid.argument",
                format!(
                    "{function}: the stats map has no `{key}`; pass a value from `action_stats`."
                ),
            ),
            None => Ok(None),
            Some(v) if v.is_unit() && !required => Ok(None),
            Some(v) => match v.as_int() {
                Ok(n) if n >= 0 => Ok(Some(n as u64)),
                _ => throw(
                    "invalid.argument",
                    format!(
                        "{function}: `{key}` must be a whole number of 0 or more, not {v}; pass \
                         a value from `action_stats`."
                    ),
                ),
            },
        }
    };
    let executions = count("executions", true)?.unwrap_or(0);
    let small = |n: Option<u64>| n.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    Ok(ActionStats {
        id: opt_text(map, "id").unwrap_or_default(),
        name: opt_text(map, "name"),
        effective_timeout: small(count("effective_timeout", false)?)
            .unwrap_or(crate::change::stats::UNSET_TIMEOUT_SECONDS),
        executions,
        errors: count("errors", false)?.unwrap_or(0),
        errors_by_type: Default::default(),
        timeouts: count("timeouts", false)?.unwrap_or(0),
        mean_ms: None,
        max_ms: small(count("max_ms", false)?),
        p95_ms: small(count("p95_ms", false)?),
        p99_ms: small(count("p99_ms", false)?),
        p99_estimated: map
            .get("p99_estimated")
            .and_then(|v| v.as_bool().ok())
            .unwrap_or(false),
        window: opt_text(map, "window").unwrap_or_default(),
    })
}

/// A change for a script: `id, name, category, kind, before, after, status, reason`.
pub fn change(c: Change) -> Dynamic {
    values::change(c)
}

pub fn changes(list: Vec<Change>) -> Dynamic {
    Dynamic::from_array(list.into_iter().map(change).collect())
}

pub fn verification(v: &Verification) -> Dynamic {
    let mismatches: Vec<Value> = v
        .mismatches
        .iter()
        .map(|(id, expected, found)| json!({"id": id, "expected": expected, "found": found}))
        .collect();
    to_dynamic(json!({"ok": v.ok, "checked": v.checked, "mismatches": mismatches}))
}

pub fn auth_info(info: &AuthInfo) -> Dynamic {
    to_dynamic(
        json!({"region": info.region, "api_base": info.api_base, "expires_in": info.expires_in}),
    )
}

/// A timeout argument: an integer is seconds, a string may carry a unit (`"30s"`, `"45000ms"`,
/// `"1m"`), a float with no fraction is the whole number it holds (`30.0`, `1e1`). Never rounded
/// or clamped: anything else is a thrown error with the parser's message, naming the value in
/// Rhai's notation (`30.5`, `30.0`: as typed, where Rhai keeps it).
pub fn timeout(value: &Dynamic) -> R<Timeout> {
    let parsed = if let Ok(seconds) = value.as_int() {
        Timeout::from_seconds(seconds)
    } else if value.is_string() {
        Timeout::parse(&value.clone().into_string().unwrap_or_default())
    } else if let Ok(f) = value.as_float() {
        // Rhai shows a float with its point (`30.0`), where Rust would write `30`.
        let typed = value.to_string();
        if !f.is_finite() || f.fract() != 0.0 {
            return throw(
                "invalid.timeout",
                format!(
                    "The timeout `{typed}` is not a whole number of seconds. Timeouts are whole \
                     seconds from 1 to 60 and are never rounded, e.g. `30` or `\"30s\"`."
                ),
            );
        }
        // Whole: the range check names anything past 60 (held within i64 first).
        let seconds = f.clamp(-1e15, 1e15) as i64;
        // The range messages name the number; they name it as typed.
        Timeout::from_seconds(seconds).map_err(|mut e| {
            e.message = e
                .message
                .replacen(&format!("`{seconds}`"), &format!("`{typed}`"), 1);
            e
        })
    } else {
        return throw(
            "invalid.timeout",
            format!(
                "The timeout must be an integer (seconds) or a string like `\"30s\"`, not {}.",
                value.type_name()
            ),
        );
    };
    parsed.or_else(|e| throw("invalid.timeout", e.message))
}

/// The id in an `action_or_id` argument: a string, an action, or a map with a string `id`.
pub fn action_id(value: &Dynamic) -> R<String> {
    if let Some(action) = value.read_lock::<ScriptAction>() {
        return Ok(action.0.action.id.clone());
    }
    if value.is_string() {
        let id = value.clone().into_string().unwrap_or_default();
        if id.trim().is_empty() {
            return throw(
                "invalid.argument",
                "An action id cannot be empty; pass an id from `list_actions()` (e.g. \
                 `list_actions()[0].id`) or an action map.",
            );
        }
        return Ok(id);
    }
    if let Some(map) = value.read_lock::<Map>() {
        if let Some(id) = map.get("id").filter(|v| v.is_string()) {
            return Ok(id.to_string());
        }
        return throw(
            "invalid.argument",
            "The action map has no string `id`; pass an action map or an id.",
        );
    }
    throw(
        "invalid.argument",
        format!(
            "Expected an action, an action map or an action id string, not {}.",
            value.type_name()
        ),
    )
}

fn opt_int(map: &Map, key: &str) -> R<Option<i64>> {
    match map.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => v.as_int().map(Some).or_else(|_| {
            throw(
                "invalid.argument",
                format!("The change field `{key}` must be an integer or ()."),
            )
        }),
    }
}

fn opt_text(map: &Map, key: &str) -> Option<String> {
    map.get(key)
        .filter(|v| v.is_string())
        .map(|v| v.to_string())
}

pub fn parse_kind(text: &str) -> Option<Kind> {
    [
        Kind::Standard,
        Kind::Static,
        Kind::CustomAuth,
        Kind::Function,
    ]
    .into_iter()
    .find(|k| k.as_str() == text)
}

pub fn parse_status(text: &str) -> Option<Status> {
    Status::ALL.into_iter().find(|s| s.as_str() == text)
}

/// A change (or a map of one) back into a `Change` (for `verify(changes)`).
pub fn change_from(value: &Dynamic) -> R<Change> {
    if let Some(change) = value.read_lock::<ScriptChange>() {
        return Ok(Change::clone(&change.0));
    }
    let Some(map) = value.read_lock::<Map>() else {
        return throw(
            "invalid.argument",
            format!(
                "`verify` takes a change or a list of changes (what `update_timeout` or \
                 `update_timeouts` returned), and found {}: write `verify(change)` or \
                 `verify(changes)`{}.",
                value.type_name(),
                if value.is_string() || value.is::<ScriptAction>() {
                    "; an action's timeout is `fetch_action(action_or_id).timeout_seconds`"
                } else {
                    ""
                }
            ),
        );
    };
    let id = action_id(value)?;
    let status_text = opt_text(&map, "status").unwrap_or_default();
    let Some(status) = parse_status(&status_text) else {
        return Err(ErrorMap::local(
            "invalid.argument",
            format!("The change for `{id}` has status `{status_text}`; expected one returned by `update_timeouts`."),
        )
        .with_action(&id)
        .throw());
    };
    Ok(Change {
        name: opt_text(&map, "name"),
        category: opt_text(&map, "category"),
        kind: opt_text(&map, "kind")
            .as_deref()
            .and_then(parse_kind)
            .unwrap_or(Kind::Standard),
        before: opt_int(&map, "before")?,
        after: opt_int(&map, "after")?,
        reason: opt_text(&map, "reason"),
        status,
        id,
    })
}

/// Checks an options map against the keys a function knows, so a typo is an error, not ignored.
pub fn check_keys(function: &str, map: &Map, known: &[&str]) -> R<()> {
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            return throw(
                "invalid.argument",
                format!(
                    "`{function}` has no option `{key}`; the options are {}.",
                    known.join(", ")
                ),
            );
        }
    }
    Ok(())
}

/// An optional option of a host function's options map: absent or `()` is `None`; a value that
/// `read` does not accept is an error naming the option, the function and what it must be.
fn option<T>(
    function: &str,
    map: &Map,
    key: &str,
    must_be: &str,
    read: impl Fn(&Dynamic) -> Option<T>,
) -> R<Option<T>> {
    match map.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => match read(v) {
            Some(value) => Ok(Some(value)),
            None => throw(
                "invalid.argument",
                format!(
                    "The `{key}` option of `{function}` must be {must_be}, not {}.",
                    v.type_name()
                ),
            ),
        },
    }
}

pub fn opt_string(function: &str, map: &Map, key: &str) -> R<Option<String>> {
    option(function, map, key, "a string", |v| {
        v.is_string().then(|| v.to_string())
    })
}

/// A text filter of a listing (`name`, `category`): a string, or absent/`()` for no filter. A
/// blank one is refused: the API's `name` is a partial match, so `""` would match every action,
/// and a filter must never widen a change to the whole org by accident.
pub fn opt_filter(function: &str, map: &Map, key: &str) -> R<Option<String>> {
    let value = opt_string(function, map, key)?;
    if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
        return throw(
            "invalid.argument",
            format!(
                "The `{key}` option of `{function}` is empty, which would match every action. \
                 Leave `{key}` out (or pass `()`) to mean every action, or give a {key} to match."
            ),
        );
    }
    Ok(value)
}

pub fn opt_bool(function: &str, map: &Map, key: &str) -> R<Option<bool>> {
    option(function, map, key, "true or false", |v| v.as_bool().ok())
}

pub fn opt_int_option(function: &str, map: &Map, key: &str) -> R<Option<i64>> {
    option(function, map, key, "an integer", |v| v.as_int().ok())
}

/// A string or an array of strings or action maps (the `ids` option). A blank id is refused; an
/// empty array is kept: it means no action.
pub fn string_list(function: &str, key: &str, value: &Dynamic) -> R<Vec<String>> {
    let id = |v: &Dynamic| -> R<String> {
        let text = v.to_string();
        if text.trim().is_empty() {
            return throw(
                "invalid.argument",
                format!(
                    "The `{key}` option of `{function}` holds an empty id, which names no action; \
                     pass ids from `list_actions()` (e.g. `list_actions()[0].id`), or `[]` for none."
                ),
            );
        }
        Ok(text)
    };
    if value.is_string() {
        return Ok(vec![id(value)?]);
    }
    if let Some(array) = value.read_lock::<Array>() {
        return array
            .iter()
            .map(|v| {
                if v.is_string() {
                    id(v)
                } else {
                    action_id(v).or_else(|_| {
                        throw(
                            "invalid.argument",
                            format!("The `{key}` option of `{function}` must hold strings."),
                        )
                    })
                }
            })
            .collect();
    }
    throw(
        "invalid.argument",
        format!("The `{key}` option of `{function}` must be a string or an array of strings."),
    )
}
