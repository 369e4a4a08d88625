//! The values scripts get for actions and changes: the host's own `Arc<ActionInfo>` and
//! `Arc<Change>`, shared, read through getters. One representation of an action (and of a
//! change) for the host and the script, instead of a Rhai map built beside the host's copy.
//!
//! Each reads like the map it replaces. An action (`fetch_action`, `list_actions`, a `decide`
//! closure's argument): `a.id`, `a.name`, `a.category`, `a.integration_id`, `a.version`,
//! `a.secure`, `a.timeout_seconds` (`()` when unset), `a.effective_timeout` (60 when unset),
//! `a.kind`, `a.config` (a map, built when asked for), and for function data actions `a.function_timeout_seconds`. A change
//! (`update_timeout`, `update_timeouts`): `c.id`, `c.name`, `c.category`, `c.kind`, `c.before`,
//! `c.after`, `c.status`, `c.reason`. Both: `v["id"]`, `()` for a field they do not have,
//! `"id" in v`, `v.keys()`, `print(v)` and `debug(v)` (the map's text), `v.to_json()`, `==`.
//! They are read-only (`type_of` says `"action"` or `"change"`): `v.to_map()` gives a map to
//! change freely.
//!
//! Why not maps: a map per action (about 4.6 KB each, every key and string its own allocation)
//! doubled what the host already held, a script's value is copied whole each time Rhai passes
//! it by value (the array given to `update_timeouts`, the value a script ends with), and Rhai
//! counts the strings of every nested map against its string limit, so a listing of 100 000
//! actions could not be returned at all.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map};
use serde_json::{Value, json};

use super::errors::throw;
use crate::change::stats::effective_timeout;
use crate::change::{ActionInfo, Change, Kind};

/// A read-only value with named fields, shown to scripts as the map it stands for.
pub trait Record: Clone + Send + Sync + 'static {
    /// What `type_of` says of it.
    const TYPE_NAME: &'static str;
    /// Its fields, sorted (as a Rhai map sorts its keys).
    const FIELDS: &'static [&'static str];

    /// Whether it has this field (`"id" in v`).
    fn has(&self, key: &str) -> bool {
        Self::FIELDS.contains(&key)
    }

    /// The value of one field; `()` for a field it does not have.
    fn field(&self, key: &str) -> Dynamic;

    /// What one field holds, in a sentence: its getter's doc comment, for `:help` and editors.
    fn about(key: &str) -> &'static str;

    /// The map it stands for: every field it has.
    fn to_map(&self) -> Map {
        Self::FIELDS
            .iter()
            .filter(|k| self.has(k))
            .map(|k| ((*k).into(), self.field(k)))
            .collect()
    }

    /// Whether it is the same as `other` (`==`).
    fn same(&self, other: &Self) -> bool;
}

fn text(value: &Option<String>) -> Dynamic {
    value.clone().map_or(Dynamic::UNIT, Dynamic::from)
}

fn int(value: Option<i64>) -> Dynamic {
    value.map_or(Dynamic::UNIT, Dynamic::from_int)
}

fn from_json(value: Value) -> Dynamic {
    // Serialising a `serde_json::Value` into a Dynamic cannot fail.
    rhai::serde::to_dynamic(value).unwrap_or_default()
}

/// An action as a script holds it: the host's action, shared.
#[derive(Debug, Clone)]
pub struct ScriptAction(pub Arc<ActionInfo>);

impl Record for ScriptAction {
    const TYPE_NAME: &'static str = "action";
    const FIELDS: &'static [&'static str] = &[
        "category",
        "config",
        "effective_timeout",
        "function_timeout_seconds",
        "id",
        "integration_id",
        "kind",
        "name",
        "secure",
        "timeout_seconds",
        "version",
    ];

    fn has(&self, key: &str) -> bool {
        action_has(&self.0, key)
    }

    fn field(&self, key: &str) -> Dynamic {
        action_field(&self.0, key)
    }

    fn about(key: &str) -> &'static str {
        match key {
            "category" => "The action's category (a string), `()` when it has none.",
            "config" => {
                "The action's whole `config` (request, response, timeout) as a map, built when \
                 read."
            }
            "effective_timeout" => {
                "The timeout (seconds) the action runs with: `timeout_seconds`, or 60 when it is \
                 unset (Genesys' announcement: unset means 60 s, the maximum)."
            }
            "function_timeout_seconds" => {
                "The timeout of a function data action's function (seconds), `()` when unset; \
                 only function data actions have this field."
            }
            "id" => "The action's id (a string).",
            "integration_id" => "The id of the integration the action belongs to.",
            "kind" => {
                "What kind of action this is: `\"standard\"`, `\"static\"`, `\"custom_auth\"` \
                 or `\"function\"`."
            }
            "name" => "The action's name (a string).",
            "secure" => "Whether the action is secure (its inputs and outputs are not logged).",
            "timeout_seconds" => "The action's `config.timeoutSeconds` (1..=60), `()` when unset.",
            "version" => "The action's published version (an integer).",
            _ => "",
        }
    }

    fn same(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

/// `function_timeout_seconds` is a field of function data actions only.
fn action_has(info: &ActionInfo, key: &str) -> bool {
    match key {
        "function_timeout_seconds" => info.kind == Kind::Function,
        _ => ScriptAction::FIELDS.contains(&key),
    }
}

fn action_field(info: &ActionInfo, key: &str) -> Dynamic {
    let a = &info.action;
    match key {
        "id" => Dynamic::from(a.id.clone()),
        "name" => text(&a.name),
        "category" => text(&a.category),
        "integration_id" => text(&a.integration_id),
        "version" => int(a.version),
        "secure" => a.secure.map_or(Dynamic::UNIT, Dynamic::from_bool),
        "timeout_seconds" => int(a.timeout_seconds()),
        "effective_timeout" => Dynamic::from_int(i64::from(effective_timeout(info))),
        "kind" => Dynamic::from(info.kind.as_str()),
        "config" => a
            .config
            .as_ref()
            .map_or(Dynamic::UNIT, |c| from_json(json!(c))),
        "function_timeout_seconds" if info.kind == Kind::Function => int(info.function_timeout),
        _ => Dynamic::UNIT,
    }
}

/// A change as a script holds it.
#[derive(Debug, Clone)]
pub struct ScriptChange(pub Arc<Change>);

impl Record for ScriptChange {
    const TYPE_NAME: &'static str = "change";
    /// The keys of `Change::to_json`, the shape `--json` reports give too.
    const FIELDS: &'static [&'static str] = &[
        "after", "before", "category", "id", "kind", "name", "reason", "status",
    ];

    fn field(&self, key: &str) -> Dynamic {
        let c = &self.0;
        match key {
            "id" => Dynamic::from(c.id.clone()),
            "name" => text(&c.name),
            "category" => text(&c.category),
            "kind" => Dynamic::from(c.kind.as_str()),
            "before" => int(c.before),
            "after" => int(c.after),
            "status" => Dynamic::from(c.status.as_str()),
            "reason" => text(&c.reason),
            _ => Dynamic::UNIT,
        }
    }

    fn about(key: &str) -> &'static str {
        match key {
            "after" => "The timeout (seconds) the action has, or would have, after this change.",
            "before" => "The timeout (seconds) the action had before, `()` when it was unset.",
            "category" => "The action's category, `()` when it has none.",
            "id" => "The id of the action changed.",
            "kind" => {
                "What kind of action it is: `\"standard\"`, `\"static\"`, `\"custom_auth\"` \
                 or `\"function\"`."
            }
            "name" => "The name of the action changed.",
            "reason" => "Why the change was skipped or failed, `()` when it was not.",
            "status" => {
                "What happened: `\"updated\"`, `\"unchanged\"`, `\"planned\"` (a dry run), \
                 `\"skipped\"`, `\"failed\"` or `\"not_attempted\"`."
            }
            _ => "",
        }
    }

    fn same(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

/// The value a script gets for this action.
pub fn action(info: Arc<ActionInfo>) -> Dynamic {
    Dynamic::from(ScriptAction(info))
}

/// The value a script gets for this change.
pub fn change(change: Change) -> Dynamic {
    Dynamic::from(ScriptChange(Arc::new(change)))
}

/// An action as a map (output that is not a script's: `actions get`, `--json`).
pub fn action_map(info: &ActionInfo) -> Map {
    ScriptAction::FIELDS
        .iter()
        .filter(|k| action_has(info, k))
        .map(|k| ((*k).into(), action_field(info, k)))
        .collect()
}

/// Makes actions and changes readable in scripts (see the module doc).
pub fn register(engine: &mut Engine) {
    register_record::<ScriptAction>(engine);
    register_record::<ScriptChange>(engine);
}

fn register_record<T: Record>(engine: &mut Engine) {
    let what = T::TYPE_NAME;
    engine.register_type_with_name::<T>(what);
    // Each getter and method with its doc comment and parameter names, as the host functions
    // have theirs: `:help`, the definitions for editors and their completion show them.
    let this = format!("{what}: {what}");
    let read_only_doc =
        format!("/// Read-only: throws. `{what}.to_map()` gives a copy as a map, to change.");
    for key in T::FIELDS {
        FuncRegistration::new_getter(key)
            .with_comments([format!("/// {}", T::about(key))])
            .with_params_info([this.as_str(), "Dynamic"])
            .register_into_engine(engine, move |v: &mut T| v.field(key));
        // Read-only, said with the way out.
        FuncRegistration::new_setter(key)
            .with_comments([&read_only_doc])
            .with_params_info([this.as_str(), "value: Dynamic"])
            .register_into_engine(engine, move |_: &mut T, _: Dynamic| read_only::<T>(key));
    }
    // `v["id"]`, and any property without a getter: `()`, as for a map.
    FuncRegistration::new_index_getter()
        .with_comments([format!(
            "/// The field named `key` of this {what}, `()` for a field it does not have."
        )])
        .with_params_info([this.as_str(), "key: &str", "Dynamic"])
        .register_into_engine(engine, |v: &mut T, key: &str| v.field(key));
    FuncRegistration::new_index_setter()
        .with_comments([&read_only_doc])
        .with_params_info([this.as_str(), "key: &str", "value: Dynamic"])
        .register_into_engine(engine, |_: &mut T, key: &str, _: Dynamic| {
            read_only::<T>(key)
        });
    let method = |name: &str, doc: String, params: &[&str]| {
        let mut info = vec![this.as_str()];
        info.extend(params);
        FuncRegistration::new(name)
            .with_comments([format!("/// {doc}")])
            .with_params_info(info)
    };
    // `"id" in v`.
    method(
        "contains",
        format!("Whether this {what} has the field `key` (`\"id\" in {what}`)."),
        &["key: &str", "bool"],
    )
    .register_into_engine(engine, |v: &mut T, key: &str| v.has(key));
    method(
        "keys",
        format!("The names of this {what}'s fields, sorted."),
        &["Array"],
    )
    .register_into_engine(engine, |v: &mut T| -> Array {
        T::FIELDS
            .iter()
            .filter(|k| v.has(k))
            .map(|k| Dynamic::from(*k))
            .collect()
    });
    method(
        "to_map",
        format!("A copy of this {what} as a map, to change freely."),
        &["Map"],
    )
    .register_into_engine(engine, |v: &mut T| v.to_map());
    // As a map's `to_json`: the keys in order, compact.
    method(
        "to_json",
        format!("This {what} as compact JSON text, its keys sorted."),
        &["String"],
    )
    .register_into_engine(engine, |v: &mut T| {
        serde_json::to_string(&Dynamic::from_map(v.to_map())).unwrap_or_default()
    });
    let other = format!("other: {what}");
    let shown = |v: &mut T| format!("{:?}", Dynamic::from_map(v.to_map()));
    for name in ["to_string", "to_debug"] {
        method(
            name,
            format!("This {what} as the text of its map (what `print` shows)."),
            &["String"],
        )
        .register_into_engine(engine, shown);
    }
    method(
        "==",
        format!("Whether the two are the same {what}, field for field."),
        &[other.as_str(), "bool"],
    )
    .register_into_engine(engine, |a: &mut T, b: T| a.same(&b));
    method(
        "!=",
        "Whether the two differ in any field.".into(),
        &[other.as_str(), "bool"],
    )
    .register_into_engine(engine, |a: &mut T, b: T| !a.same(&b));
}

/// The error of an assignment to a field of a read-only value.
fn read_only<T: Record>(key: &str) -> Result<(), Box<EvalAltResult>> {
    let what = T::TYPE_NAME;
    throw(
        "read.only",
        format!(
            "This {what} is read-only, so `{key}` cannot be set on it; `.to_map()` gives a copy \
             as a map, to change freely."
        ),
    )
}

/// Whether a function's receiver (its first parameter's type, as the engine's metadata names
/// it) is one of these values: their getters and methods are not host functions.
pub fn is_receiver(type_name: &str) -> bool {
    let name = type_name.trim_start_matches("&mut ");
    name == ScriptAction::TYPE_NAME || name == ScriptChange::TYPE_NAME
}

/// The map of an action, a change or a map; `None` for anything else.
pub fn as_map(value: &Dynamic) -> Option<Map> {
    if let Some(a) = value.read_lock::<ScriptAction>() {
        return Some(a.to_map());
    }
    if let Some(c) = value.read_lock::<ScriptChange>() {
        return Some(c.to_map());
    }
    value.read_lock::<Map>().map(|m| m.clone())
}

/// Whether the value is an action, a change or a map having every one of `keys`.
pub fn has_keys(value: &Dynamic, keys: &[&str]) -> bool {
    if let Some(a) = value.read_lock::<ScriptAction>() {
        return keys.iter().all(|k| a.has(k));
    }
    if let Some(c) = value.read_lock::<ScriptChange>() {
        return keys.iter().all(|k| c.has(k));
    }
    value
        .read_lock::<Map>()
        .is_some_and(|m| keys.iter().all(|k| m.contains_key(*k)))
}

/// `value` with every action and change inside it (in arrays and maps, at any depth) turned
/// into its map: for what only understands plain values (JSON output, Rust's `Debug`).
pub fn plain(value: &Dynamic) -> Dynamic {
    if value.is::<ScriptAction>() || value.is::<ScriptChange>() {
        return as_map(value).map_or(Dynamic::UNIT, Dynamic::from_map);
    }
    if let Some(array) = value.read_lock::<Array>() {
        return Dynamic::from_array(array.iter().map(plain).collect());
    }
    if let Some(map) = value.read_lock::<Map>() {
        return Dynamic::from_map(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect());
    }
    value.clone()
}
