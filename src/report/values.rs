//! Values shown to people: an action or a list of actions as a table, a change or a change list
//! as the end of a run shows its changes (`report::Report`: the same columns, a short
//! status per change, the counts by status and each reason once); anything else in Rhai's own
//! notation. `--json` gets JSON. Tables are drawn by `output::table`.

use rhai::{Array, Dynamic, Map};

use crate::change::{Change, Kind};
use crate::output::table::{self, Layout};
use crate::report::{Report, stats};
use crate::script::convert;
use crate::script::values::{self, Record, ScriptAction};

const ACTION_KEYS: [&str; 3] = ["id", "kind", "timeout_seconds"];
const CHANGE_KEYS: [&str; 4] = ["id", "before", "after", "status"];
const STATS_KEYS: [&str; 4] = ["id", "executions", "timeouts", "effective_timeout"];
/// Rows shown on a terminal before a table is cut short (the value itself is whole in the
/// variable); into a pipe or a file every row is written.
const MAX_ROWS: usize = 200;

fn has_keys(value: &Dynamic, keys: &[&str]) -> bool {
    values::has_keys(value, keys)
}

fn cell(map: &Map, key: &str) -> String {
    match map.get(key) {
        None => String::new(),
        Some(v) if v.is_unit() => "-".into(),
        Some(v) => v.to_string(),
    }
}

/// What the timeout column shows for a timeout that is absent: the action has none set, which is
/// not "short" (it means 60 s, the maximum; a function's own timeout, 15 s), so it is named with
/// what it means, not dashed.
pub fn unset(kind: Kind) -> String {
    format!("unset ({} s)", kind.unset_seconds())
}

/// `headers` over `rows`, at most `MAX_ROWS` rows on a terminal.
fn table(headers: &[&str], rows: &[Vec<String>], layout: Layout) -> String {
    let drawn = table::render(headers, rows, layout.capped(MAX_ROWS));
    if drawn.hidden > 0 {
        format!(
            "{}\n({} more rows: the value is whole; `--json` or `.len()` and indexes show the rest)",
            drawn.text, drawn.hidden
        )
    } else {
        drawn.text
    }
}

/// The timeout column: the action's timeout, `unset` when it has none. A function data action
/// shows its function settings' timeout, which only `fetch_action` reads (`-` when not read).
fn timeout_cell(map: &Map) -> String {
    let (key, kind) = if cell(map, "kind") == "function" {
        ("function_timeout_seconds", Kind::Function)
    } else {
        ("timeout_seconds", Kind::Standard)
    };
    match map.get(key) {
        None => "-".to_owned(),
        Some(t) if t.is_unit() => unset(kind),
        Some(t) => t.to_string(),
    }
}

/// The fields of an action that its row shows, as a map (of an action, or a map with them);
/// an action's config is not built for it.
fn row_fields(value: &Dynamic) -> Option<Map> {
    if let Some(a) = value.read_lock::<ScriptAction>() {
        let shown = ["id", "name", "category", "kind", "timeout_seconds"]
            .into_iter()
            .chain(
                ["function_timeout_seconds"]
                    .into_iter()
                    .filter(|k| a.has(k)),
            );
        return Some(shown.map(|k| (k.into(), a.field(k))).collect());
    }
    value.read_lock::<Map>().map(|m| m.clone())
}

fn action_rows(items: &[Dynamic]) -> Vec<Vec<String>> {
    items
        .iter()
        .filter_map(row_fields)
        .map(|m| {
            let mut row = ["id", "name", "category", "kind"]
                .map(|k| cell(&m, k))
                .to_vec();
            row.push(timeout_cell(&m));
            row
        })
        .collect()
}

fn actions_table(items: &[Dynamic], layout: Layout) -> String {
    let plural = if items.len() == 1 {
        "action"
    } else {
        "actions"
    };
    format!(
        "{}\n{} {plural}",
        table(
            &["ID", "NAME", "CATEGORY", "KIND", "TIMEOUT"],
            &action_rows(items),
            layout
        ),
        items.len()
    )
}

/// A change or a list of changes as the end of a run shows them (`report::Report`, the
/// one drawing of changes): the same columns (`id name kind timeout status`), the counts by
/// status, each reason once. `None` when one of them is not a change dactl can read (a map with a
/// status of its own): that value is shown in Rhai's notation instead.
fn changes_table(items: &[Dynamic], layout: Layout) -> Option<String> {
    let changes = items
        .iter()
        .map(|v| convert::change_from(v).ok())
        .collect::<Option<Vec<Change>>>()?;
    let more = "the value is whole; `--json` or `.len()` and indexes show the rest";
    Some(Report { changes: &changes }.text(layout.capped(MAX_ROWS), more))
}

/// Stats values (`action_stats`) as `dactl actions stats` draws them, worst first. `None` when
/// one of them is not a stats value dactl can read.
fn stats_table(items: &[Dynamic], layout: Layout) -> Option<String> {
    let mut rows = items
        .iter()
        .map(|v| {
            let map = v.read_lock::<Map>()?;
            let stats = convert::stats_from("action_stats", &map).ok()?;
            Some(stats::Row {
                timeout_seconds: Some(i64::from(stats.effective_timeout)),
                stats,
                kind: None,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    stats::sort(&mut rows);
    Some(stats::table(&rows, layout.capped(MAX_ROWS)))
}

/// The text for a value laid out for `layout` (`Printer::layout` of where it goes), or `None`
/// for `()` (nothing worth printing).
pub fn value(value: &Dynamic, layout: Layout) -> Option<String> {
    if value.is_unit() {
        return None;
    }
    if has_keys(value, &CHANGE_KEYS)
        && let Some(text) = changes_table(std::slice::from_ref(value), layout)
    {
        return Some(text);
    }
    if has_keys(value, &ACTION_KEYS) {
        return Some(actions_table(std::slice::from_ref(value), layout));
    }
    if has_keys(value, &STATS_KEYS)
        && let Some(text) = stats_table(std::slice::from_ref(value), layout)
    {
        return Some(text);
    }
    if let Some(array) = value.read_lock::<Array>()
        && !array.is_empty()
    {
        if array.iter().all(|v| has_keys(v, &CHANGE_KEYS))
            && let Some(text) = changes_table(&array, layout)
        {
            return Some(text);
        }
        if array.iter().all(|v| has_keys(v, &ACTION_KEYS)) {
            return Some(actions_table(&array, layout));
        }
        if array.iter().all(|v| has_keys(v, &STATS_KEYS))
            && let Some(text) = stats_table(&array, layout)
        {
            return Some(text);
        }
    }
    Some(debug(value))
}

/// Rhai's own notation of a value, actions inside it shown as their maps.
pub fn debug(value: &Dynamic) -> String {
    format!("{:?}", values::plain(value))
}

/// The value as pretty JSON (`--json`).
pub fn json(value: &Dynamic) -> String {
    match rhai::serde::from_dynamic::<serde_json::Value>(&values::plain(value)) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => serde_json::Value::String(value.to_string()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text as written into a pipe or a file.
    fn value_piped(v: &Dynamic) -> Option<String> {
        value(v, Layout::default())
    }

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
        let text = value_piped(&list).unwrap();
        assert!(text.ends_with("3 actions: 2 updated, 1 failed"), "{text}");
    }

    /// A change value is drawn as a run's report draws it: the same columns and headers.
    #[test]
    fn changes_have_the_columns_of_a_run() {
        let change = map(&[
            ("id", "a1".into()),
            ("name", "Lookup".into()),
            ("kind", "standard".into()),
            ("before", Dynamic::from(5_i64)),
            ("after", Dynamic::from(30_i64)),
            ("status", "updated".into()),
        ]);
        let text = value_piped(&change).unwrap();
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            lines[0],
            ["id", "name", "kind", "timeout", "status"],
            "{text}"
        );
        assert_eq!(
            lines[1],
            [
                "a1", "Lookup", "standard", "5", "s", "->", "30", "s", "updated"
            ],
            "{text}"
        );
        assert_eq!(lines[2], ["1", "action:", "1", "updated"], "{text}");
    }

    #[test]
    fn a_reason_shared_by_changes_is_said_once_and_rows_point_at_it() {
        let change = |id: &str, status: &str, reason: Dynamic| {
            map(&[
                ("id", id.into()),
                ("name", "Lookup".into()),
                ("before", Dynamic::from(5_i64)),
                ("after", Dynamic::UNIT),
                ("status", status.into()),
                ("reason", reason),
            ])
        };
        let denied = |id: &str| {
            Dynamic::from(format!(
                "Genesys Cloud answered 403 `missing.any.permissions` for action `{id}`: no. \
                 The OAuth client's role lacks ... (correlation id `c-{id}`)"
            ))
        };
        let list = Dynamic::from_array(vec![
            change("a1", "failed", denied("a1")),
            change("a2", "failed", denied("a2")),
            change("s1", "skipped", "built-in".into()),
            change("u1", "updated", Dynamic::UNIT),
        ]);
        let text = value_piped(&list).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].ends_with("failed (1)") && lines[2].ends_with("failed (1)"),
            "{text}"
        );
        assert!(
            lines[3].ends_with("skipped (2)") && lines[4].ends_with("updated"),
            "{text}"
        );
        assert_eq!(lines[5], "4 actions: 1 updated, 1 skipped, 2 failed");
        assert!(
            lines[6].starts_with("(1)  2  failed   Genesys Cloud answered 403"),
            "{text}"
        );
        assert!(!text.contains("a1`") && !text.contains("c-a"), "{text}");
        assert_eq!(lines[7], "(2)  1  skipped  built-in");
    }

    #[test]
    fn long_tables_are_cut_on_a_terminal_only() {
        let actions: Vec<Dynamic> = (0..250)
            .map(|n| {
                map(&[
                    ("id", format!("a{n}").into()),
                    ("kind", "standard".into()),
                    ("timeout_seconds", Dynamic::from(5_i64)),
                ])
            })
            .collect();
        let list = Dynamic::from_array(actions);
        let piped = value_piped(&list).unwrap();
        assert_eq!(piped.lines().count(), 252, "header, 250 rows, the count");
        let terminal = Layout {
            width: Some(100),
            max_rows: None,
        };
        let cut = value(&list, terminal).unwrap();
        assert_eq!(cut.lines().count(), 1 + MAX_ROWS + 2);
        assert!(cut.contains("\n(50 more rows: "), "{cut}");
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
        let text = value_piped(&action(Dynamic::UNIT)).unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            row,
            ["a1", "-", "CRM", "standard", "unset", "(60", "s)"],
            "{text}"
        );
        let text = value_piped(&action(Dynamic::from(7_i64))).unwrap();
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
            let text = value_piped(&map(&pairs)).unwrap();
            text.lines()
                .nth(1)
                .unwrap()
                .split("  ")
                .filter(|cell| !cell.is_empty())
                .last()
                .unwrap()
                .trim()
                .to_owned()
        };
        assert_eq!(function(None), "-");
        assert_eq!(function(Some(Dynamic::UNIT)), "unset (15 s)");
        assert_eq!(function(Some(Dynamic::from(5_i64))), "5");
    }

    #[test]
    fn plain_values_use_rhai_notation() {
        assert_eq!(value_piped(&Dynamic::from(42_i64)).unwrap(), "42");
        assert_eq!(value_piped(&Dynamic::from("x")).unwrap(), "\"x\"");
        assert!(value_piped(&Dynamic::UNIT).is_none());
    }
}
