//! An action read whole: config with each template's text, contract, function settings. Two
//! snapshots can be compared field by field, which is how the canary proves a write changed only
//! what it meant to, and how a draft is shown to be an untouched copy of its action.

use serde_json::Value;

use crate::change::Engine;
use crate::genesys::Error;
use crate::genesys::models::{Action, ActionConfig, FunctionConfig};

/// Keys of a config section that hold template text, and the URI keys that name the same
/// template. URIs are where the platform serves the text (a draft's differ from its action's),
/// so comparisons go by the text.
const TEMPLATE_KEYS: [(&str, &str, &str); 2] = [
    ("request", "requestTemplate", "requestTemplateUri"),
    ("response", "successTemplate", "successTemplateUri"),
];

/// An action as read, with the text of every template in its config.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The action, config and contract included; template text inline.
    pub action: Action,
    /// A function data action's function settings (published or draft, as read).
    pub function: Option<FunctionConfig>,
}

/// The one timeout a write of dactl's changes, left out when two snapshots are compared: any
/// other difference, the other timeout included, is someone else's (or the platform's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// `config.timeoutSeconds` (a standard action's PATCH).
    ActionTimeout,
    /// `function.function.timeoutSeconds` (a function data action's draft).
    FunctionTimeout,
}

/// One field that differs between two snapshots: its JSON path and both values (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Snapshot {
    /// The timeout the snapshot holds: the function settings' for a function data action.
    pub fn config_timeout(&self) -> Option<i64> {
        self.action.config.as_ref().and_then(|c| c.timeout_seconds)
    }

    /// What two snapshots of the same action must agree on after a write of `written`:
    /// everything but `version`, that one timeout, the `selfUri`s and the URIs that name
    /// templates (their text is compared instead).
    fn comparable(&self, written: Written) -> Value {
        let mut action = serde_json::to_value(&self.action).unwrap_or(Value::Null);
        if let Some(map) = action.as_object_mut() {
            map.remove("version");
            map.remove("selfUri");
            if let Some(config) = map.get_mut("config").and_then(Value::as_object_mut) {
                if written == Written::ActionTimeout {
                    config.remove("timeoutSeconds");
                }
                for (section, _, uri) in TEMPLATE_KEYS {
                    if let Some(section) = config.get_mut(section).and_then(Value::as_object_mut) {
                        section.remove(uri);
                    }
                }
            }
        }
        let mut function = serde_json::to_value(&self.function).unwrap_or(Value::Null);
        if let Some(map) = function.as_object_mut() {
            map.remove("selfUri");
            if let Some(inner) = map.get_mut("function").and_then(Value::as_object_mut)
                && written == Written::FunctionTimeout
            {
                inner.remove("timeoutSeconds");
            }
        }
        serde_json::json!({ "action": action, "function": function })
    }

    /// Every field that differs from `other`, but the version, the `written` timeout and what
    /// only names a template (see [`Snapshot::comparable`]).
    pub fn differences(&self, other: &Snapshot, written: Written) -> Vec<Difference> {
        let mut found = Vec::new();
        walk(
            "",
            &self.comparable(written),
            &other.comparable(written),
            &mut found,
        );
        found
    }

    /// The function settings' timeout, for a function data action read with them.
    pub fn function_timeout(&self) -> Option<i64> {
        self.function
            .as_ref()
            .and_then(|f| f.function.as_ref())
            .and_then(|f| f.timeout_seconds)
    }
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Difference>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (x.get(key), y.get(key)) {
                    (Some(a), Some(b)) => walk(&here, a, b, out),
                    (a, b) => out.push(Difference {
                        path: shown_path(&here),
                        before: a.cloned(),
                        after: b.cloned(),
                    }),
                }
            }
        }
        _ if a != b => out.push(Difference {
            path: shown_path(path),
            before: Some(a.clone()),
            after: Some(b.clone()),
        }),
        _ => {}
    }
}

/// `action.config.request.requestTemplate` → `config.request.requestTemplate`;
/// `function.function.handler` stays as it is.
fn shown_path(path: &str) -> String {
    path.strip_prefix("action.").unwrap_or(path).to_owned()
}

impl Difference {
    /// One line a person can read: the path, then a short before → after. Template text (and
    /// any long text) is shown as the first line that differs.
    pub fn describe(&self) -> String {
        match (&self.before, &self.after) {
            (Some(Value::String(a)), Some(Value::String(b))) => match text_change(a, b) {
                (Some(line), a, b) => format!("`{}` line {line}: {a} -> {b}", self.path),
                (None, a, b) => format!("`{}`: {a} -> {b}", self.path),
            },
            (a, b) => format!(
                "`{}`: {} -> {}",
                self.path,
                short(a.as_ref()),
                short(b.as_ref())
            ),
        }
    }
}

/// The first differing line of two texts: its number (when either text has more than one line)
/// and each side, shortened.
fn text_change(a: &str, b: &str) -> (Option<usize>, String, String) {
    let (lines_a, lines_b): (Vec<&str>, Vec<&str>) =
        (a.split('\n').collect(), b.split('\n').collect());
    let total = lines_a.len().max(lines_b.len());
    let line = (0..total)
        .find(|&i| lines_a.get(i) != lines_b.get(i))
        .unwrap_or(0);
    let side = |lines: &[&str]| lines.get(line).map_or("(none)".to_owned(), |t| quoted(t));
    let number = (total > 1).then_some(line + 1);
    (number, side(&lines_a), side(&lines_b))
}

fn quoted(text: &str) -> String {
    const MAX: usize = 60;
    let escaped = text.escape_debug().to_string();
    if escaped.chars().count() > MAX {
        let cut: String = escaped.chars().take(MAX).collect();
        format!("\"{cut}...\"")
    } else {
        format!("\"{escaped}\"")
    }
}

fn short(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(Value::String(text)) => quoted(text),
        Some(other) => {
            let text = other.to_string();
            if text.chars().count() > 60 {
                format!("{}...", text.chars().take(60).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// The last path segment of a template URI: `requesttemplate.vm`.
pub(crate) fn template_file(uri: &str) -> &str {
    let path = uri.split(['?', '#']).next().unwrap_or(uri);
    path.rsplit('/').next().unwrap_or(path)
}

impl Engine {
    /// Puts the text of templates the config names only by URI into it (from the action's
    /// templates, or the draft's with `draft`), so that a write carries them and a comparison
    /// sees them. Both templates are read at once: they are independent, and the canary's reads
    /// are on the run's critical path.
    pub(crate) async fn fill_templates(
        &self,
        id: &str,
        config: &mut ActionConfig,
        draft: bool,
    ) -> Result<(), Error> {
        let mut wanted: Vec<(&'static str, &'static str, String)> = Vec::new();
        for (section, text_key, uri_key) in TEMPLATE_KEYS {
            let map = match section {
                "request" => config.request.as_ref(),
                _ => config.response.as_ref(),
            };
            let Some(map) = map else { continue };
            if map.get(text_key).is_some_and(Value::is_string) {
                continue;
            }
            let Some(uri) = map.get(uri_key).and_then(Value::as_str) else {
                continue;
            };
            wanted.push((section, text_key, template_file(uri).to_owned()));
        }
        let reads = wanted.iter().map(|(_, _, file)| async move {
            if draft {
                self.client.get_draft_template(id, file).await
            } else {
                self.client.get_template(id, file).await
            }
        });
        let texts = futures::future::try_join_all(reads).await?;
        for ((section, text_key, _), text) in wanted.into_iter().zip(texts) {
            let map = match section {
                "request" => config.request.as_mut(),
                _ => config.response.as_mut(),
            };
            if let Some(map) = map {
                map.insert(text_key.into(), Value::String(text));
            }
        }
        Ok(())
    }

    /// The published action read whole: config with template text, contract, and for a function
    /// data action its function settings.
    pub(crate) async fn snapshot(&self, id: &str, function: bool) -> Result<Snapshot, Error> {
        let mut action = self.client.get_action_whole(id).await?;
        if let Some(config) = action.config.as_mut() {
            self.fill_templates(id, config, false).await?;
        }
        let function = match function {
            true => Some(self.client.get_function(id).await?),
            false => None,
        };
        Ok(Snapshot { action, function })
    }

    /// The action's draft read whole, as [`Engine::snapshot`] reads the action.
    pub(crate) async fn draft_snapshot(&self, id: &str, function: bool) -> Result<Snapshot, Error> {
        let mut action = self.client.get_draft_whole(id).await?;
        if let Some(config) = action.config.as_mut() {
            self.fill_templates(id, config, true).await?;
        }
        let function = match function {
            true => Some(self.client.get_draft_function(id).await?),
            false => None,
        };
        Ok(Snapshot { action, function })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(value: Value) -> Snapshot {
        Snapshot {
            action: serde_json::from_value(value).unwrap(),
            function: None,
        }
    }

    #[test]
    fn version_timeout_and_uris_are_not_differences_but_everything_else_is() {
        let before = snapshot(json!({"id": "a", "version": 3, "selfUri": "/x", "config": {
            "timeoutSeconds": 5,
            "request": {"requestTemplate": "{\r\n  \"a\": 1\r\n}", "requestTemplateUri": "/t/r.vm",
                        "headers": {"A": "1"}},
            "retryOnFailure": false}}));
        let mut same = before.clone();
        same.action.version = Some(4);
        same.action.config.as_mut().unwrap().timeout_seconds = Some(30);
        same.action
            .config
            .as_mut()
            .unwrap()
            .request
            .as_mut()
            .unwrap()
            .insert("requestTemplateUri".into(), json!("/draft/t/r.vm"));
        assert_eq!(before.differences(&same, Written::ActionTimeout), vec![]);
        // A function's draft changes only the function's timeout: `config.timeoutSeconds` is
        // someone else's there.
        assert_eq!(
            before.differences(&same, Written::FunctionTimeout)[0].path,
            "config.timeoutSeconds"
        );

        let mut changed = same.clone();
        let request = changed
            .action
            .config
            .as_mut()
            .unwrap()
            .request
            .as_mut()
            .unwrap();
        request.insert("requestTemplate".into(), json!("${input.rawRequest}"));
        request.remove("headers");
        changed
            .action
            .config
            .as_mut()
            .unwrap()
            .extra
            .insert("retryOnFailure".into(), json!(true));
        let found = before.differences(&changed, Written::ActionTimeout);
        let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "config.request.headers",
                "config.request.requestTemplate",
                "config.retryOnFailure"
            ]
        );
        assert_eq!(
            found[0].describe(),
            "`config.request.headers`: {\"A\":\"1\"} -> (absent)"
        );
        assert_eq!(
            found[1].describe(),
            "`config.request.requestTemplate` line 1: \"{\\r\" -> \"${input.rawRequest}\""
        );
        assert_eq!(
            found[2].describe(),
            "`config.retryOnFailure`: false -> true"
        );
    }

    #[test]
    fn a_text_change_names_the_first_line_that_differs() {
        let (line, a, b) = text_change("one\ntwo\nthree", "one\nTWO\nthree");
        assert_eq!(
            (line, a.as_str(), b.as_str()),
            (Some(2), "\"two\"", "\"TWO\"")
        );
        let (line, a, b) = text_change("x", "y");
        assert_eq!((line, a.as_str(), b.as_str()), (None, "\"x\"", "\"y\""));
        let (line, _, b) = text_change("a\nb", "a");
        assert_eq!((line, b.as_str()), (Some(2), "(none)"));
    }

    #[test]
    fn function_settings_compare_without_their_timeout() {
        let mut a = snapshot(json!({"id": "f"}));
        a.function = Some(
            serde_json::from_value(json!({"function": {"timeoutSeconds": 5, "handler": "h"}}))
                .unwrap(),
        );
        let mut b = a.clone();
        b.function
            .as_mut()
            .unwrap()
            .function
            .as_mut()
            .unwrap()
            .timeout_seconds = Some(9);
        assert!(a.differences(&b, Written::FunctionTimeout).is_empty());
        assert_eq!(
            a.differences(&b, Written::ActionTimeout)[0].path,
            "function.function.timeoutSeconds"
        );
        b.function
            .as_mut()
            .unwrap()
            .function
            .as_mut()
            .unwrap()
            .extra
            .insert("handler".into(), json!("g"));
        assert_eq!(
            a.differences(&b, Written::FunctionTimeout)[0].path,
            "function.function.handler"
        );
    }

    #[test]
    fn template_file_is_the_last_segment() {
        assert_eq!(
            template_file("/api/v2/integrations/actions/a1/templates/requesttemplate.vm"),
            "requesttemplate.vm"
        );
        assert_eq!(template_file("successtemplate.vm"), "successtemplate.vm");
        assert_eq!(template_file("/x/templates/t.vm?x=1"), "t.vm");
    }
}
