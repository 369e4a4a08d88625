//! Values shown to people: an action or a list of actions as a table, a change or a change list
//! as counts by status plus a table, anything else in Rhai's own notation. `--json` gets JSON.

use rhai::{Array, Dynamic, Map};

const ACTION_KEYS: [&str; 3] = ["id", "kind", "timeout_seconds"];
const CHANGE_KEYS: [&str; 4] = ["id", "before", "after", "status"];
const STATUSES: [&str; 6] = [
    "updated",
    "unchanged",
    "planned",
    "skipped",
    "failed",
    "not_attempted",
];
/// Rows shown before a table is cut short (the value itself is whole in the variable).
const MAX_ROWS: usize = 200;

fn has_keys(value: &Dynamic, keys: &[&str]) -> bool {
    value
        .read_lock::<Map>()
        .is_some_and(|m| keys.iter().all(|k| m.contains_key(*k)))
}

fn cell(map: &Map, key: &str) -> String {
    match map.get(key) {
        None => String::new(),
        Some(v) if v.is_unit() => "-".into(),
        Some(v) => v.to_string(),
    }
}

/// What the timeout column shows for a timeout that is absent: the action has none set, which is
/// not "short" (the platform's default for it is not documented), so it is named, not dashed.
pub const UNSET: &str = "unset";

/// Aligned columns with a header row.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows.iter().take(MAX_ROWS) {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = *w));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    for row in rows.iter().take(MAX_ROWS) {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    if rows.len() > MAX_ROWS {
        out.push(format!("... and {} more rows", rows.len() - MAX_ROWS));
    }
    out.join("\n")
}

/// The timeout column: the action's timeout, `unset` when it has none. A function data action
/// shows its function settings' timeout, which only `fetch_action` reads (`-` when not read).
fn timeout_cell(map: &Map) -> String {
    let key = if cell(map, "kind") == "function" {
        "function_timeout_seconds"
    } else {
        "timeout_seconds"
    };
    match map.get(key) {
        None => "-".to_owned(),
        Some(t) if t.is_unit() => UNSET.to_owned(),
        Some(t) => t.to_string(),
    }
}

fn action_rows(items: &[Dynamic]) -> Vec<Vec<String>> {
    items
        .iter()
        .filter_map(|v| {
            v.read_lock::<Map>().map(|m| {
                let mut row = ["id", "name", "category", "kind"]
                    .map(|k| cell(&m, k))
                    .to_vec();
                row.push(timeout_cell(&m));
                row
            })
        })
        .collect()
}

fn actions_table(items: &[Dynamic]) -> String {
    let plural = if items.len() == 1 {
        "action"
    } else {
        "actions"
    };
    format!(
        "{}\n{} {plural}",
        table(
            &["ID", "NAME", "CATEGORY", "KIND", "TIMEOUT"],
            &action_rows(items)
        ),
        items.len()
    )
}

/// `5 changes: 3 updated, 2 unchanged` and a table of the changes.
fn changes_summary(items: &[Dynamic]) -> String {
    let maps: Vec<Map> = items
        .iter()
        .filter_map(|v| v.read_lock::<Map>().map(|m| m.clone()))
        .collect();
    let count = |s: &str| maps.iter().filter(|m| cell(m, "status") == s).count();
    let counts: Vec<String> = STATUSES
        .iter()
        .map(|s| (s, count(s)))
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let rows: Vec<Vec<String>> = maps
        .iter()
        .map(|m| {
            ["id", "name", "before", "after", "status", "reason"]
                .map(|k| cell(m, k))
                .to_vec()
        })
        .collect();
    let plural = if maps.len() == 1 { "change" } else { "changes" };
    format!(
        "{}\n{} {plural}: {}",
        table(
            &["ID", "NAME", "BEFORE", "AFTER", "STATUS", "REASON"],
            &rows
        ),
        maps.len(),
        if counts.is_empty() {
            "none".to_owned()
        } else {
            counts.join(", ")
        }
    )
}

/// The text for a value, or `None` for `()` (nothing worth printing).
pub fn value(value: &Dynamic) -> Option<String> {
    if value.is_unit() {
        return None;
    }
    if has_keys(value, &CHANGE_KEYS) {
        return Some(changes_summary(std::slice::from_ref(value)));
    }
    if has_keys(value, &ACTION_KEYS) {
        return Some(actions_table(std::slice::from_ref(value)));
    }
    if let Some(array) = value.read_lock::<Array>()
        && !array.is_empty()
    {
        if array.iter().all(|v| has_keys(v, &CHANGE_KEYS)) {
            return Some(changes_summary(&array));
        }
        if array.iter().all(|v| has_keys(v, &ACTION_KEYS)) {
            return Some(actions_table(&array));
        }
    }
    Some(format!("{value:?}"))
}

/// The value as pretty JSON (`--json`).
pub fn json(value: &Dynamic) -> String {
    match rhai::serde::from_dynamic::<serde_json::Value>(value) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => serde_json::Value::String(value.to_string()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Dynamic)]) -> Dynamic {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert((*k).into(), v.clone());
        }
        m.into()
    }

    #[test]
    fn change_lists_are_counted_by_status() {
        let change = |s: &str| {
            map(&[
                ("id", "a".into()),
                ("before", Dynamic::UNIT),
                ("after", Dynamic::from(30_i64)),
                ("status", s.into()),
            ])
        };
        let list: Dynamic =
            Dynamic::from_array(vec![change("updated"), change("updated"), change("failed")]);
        let text = value(&list).unwrap();
        assert!(text.ends_with("3 changes: 2 updated, 1 failed"), "{text}");
    }

    #[test]
    fn only_the_timeout_column_says_unset() {
        let action = |timeout: Dynamic| {
            map(&[
                ("id", "a1".into()),
                ("name", Dynamic::UNIT),
                ("category", "CRM".into()),
                ("kind", "standard".into()),
                ("timeout_seconds", timeout),
            ])
        };
        let text = value(&action(Dynamic::UNIT)).unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row, ["a1", "-", "CRM", "standard", "unset"], "{text}");
        let text = value(&action(Dynamic::from(7_i64))).unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row, ["a1", "-", "CRM", "standard", "7"], "{text}");
    }

    #[test]
    fn a_function_data_action_shows_its_function_timeout_once_read() {
        let function = |read: Option<Dynamic>| {
            let mut pairs = vec![
                ("id", Dynamic::from("f1")),
                ("name", "Score".into()),
                ("category", "Functions".into()),
                ("kind", "function".into()),
                ("timeout_seconds", Dynamic::UNIT),
            ];
            if let Some(t) = read {
                pairs.push(("function_timeout_seconds", t));
            }
            let text = value(&map(&pairs)).unwrap();
            text.lines()
                .nth(1)
                .unwrap()
                .split_whitespace()
                .last()
                .unwrap()
                .to_owned()
        };
        assert_eq!(function(None), "-");
        assert_eq!(function(Some(Dynamic::UNIT)), "unset");
        assert_eq!(function(Some(Dynamic::from(5_i64))), "5");
    }

    #[test]
    fn plain_values_use_rhai_notation() {
        assert_eq!(value(&Dynamic::from(42_i64)).unwrap(), "42");
        assert_eq!(value(&Dynamic::from("x")).unwrap(), "\"x\"");
        assert!(value(&Dynamic::UNIT).is_none());
    }
}
