//! Errors in both directions: dactl errors thrown into scripts as catchable maps, and script
//! errors rendered for people (`file:line:col`, the source line, a caret under the column).
//!
//! Every error a host function throws is `EvalAltResult::ErrorRuntime(map, pos)` with the map
//! `#{status, code, message, action_id, correlation_id, retryable}`, so a script can write
//! `try { ... } catch (e) { if e.status == 404 { ... } }` whatever went wrong. Errors that did not
//! come from an HTTP response have `status` `()`.

use rhai::{Dynamic, EvalAltResult, Map, Position};

use crate::genesys::Error;

/// The shape of every error thrown to scripts.
#[derive(Debug, Clone, Default)]
pub struct ErrorMap {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    pub action_id: Option<String>,
    pub correlation_id: Option<String>,
    pub retryable: bool,
}

impl ErrorMap {
    /// A local error (bad argument, bad timeout): not retryable, no status.
    pub fn local(code: &str, message: impl Into<String>) -> ErrorMap {
        ErrorMap {
            code: code.into(),
            message: message.into(),
            ..ErrorMap::default()
        }
    }

    pub fn with_action(mut self, id: &str) -> ErrorMap {
        self.action_id.get_or_insert_with(|| id.to_owned());
        self
    }

    pub fn from_api(error: &Error) -> ErrorMap {
        let retryable = error.is_retryable();
        let status = error.status();
        match error {
            Error::Api {
                status: http,
                code,
                message,
                correlation_id,
                action_id,
            } => ErrorMap {
                status,
                code: code.clone(),
                // The server's words, then what to do about them (status, code and ids are
                // fields of their own, shown after the message).
                message: match message.trim().trim_end_matches('.') {
                    "" => crate::genesys::error::api_fix(*http, message, action_id.as_deref()),
                    said => format!(
                        "{said}. {}",
                        crate::genesys::error::api_fix(*http, message, action_id.as_deref())
                    ),
                },
                action_id: action_id.clone(),
                correlation_id: correlation_id.clone(),
                retryable,
            },
            // A refused client: name the region and every place the id and secret come from,
            // `auth(#{...})` included. Other token failures (the token endpoint's own rate limit)
            // keep the client's message. Neither carries the secret.
            Error::Auth {
                status: http,
                error: code,
                description,
                region,
                credentials_from,
            } => ErrorMap {
                status,
                code: code.clone(),
                message: if let Some(source) = credentials_from
                    .as_ref()
                    .filter(|_| error.is_credentials_refused())
                {
                    format!(
                        "Authentication failed ({http} `{code}`: {description}): region {region} \
                         does not accept this client id and secret, which came from {source}."
                    )
                } else if error.is_credentials_refused() || matches!(http, 401 | 403) {
                    use crate::genesys::error::{ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REGION};
                    format!(
                        "Authentication failed ({http} `{code}`: {description}): region {region} \
                         does not accept this client id and secret. Check {ENV_CLIENT_ID} and \
                         {ENV_CLIENT_SECRET} (or the `client_id` and `client_secret` given to \
                         `auth(#{{...}})`, or the profile in ~/.gc/config.toml), and the region \
                         (`--region` or {ENV_REGION})."
                    )
                } else {
                    error.to_string()
                },
                retryable,
                ..ErrorMap::default()
            },
            Error::RetryAfterTooLong { correlation_id, .. } => ErrorMap {
                status,
                code: "too.many.requests.retry.after".into(),
                message: error.to_string(),
                correlation_id: correlation_id.clone(),
                retryable,
                ..ErrorMap::default()
            },
            Error::Transport { timed_out, .. } => ErrorMap {
                status,
                code: if *timed_out { "timeout" } else { "connection" }.into(),
                message: error.to_string(),
                retryable,
                ..ErrorMap::default()
            },
            Error::ListingUnsettled { .. } => ErrorMap {
                status,
                code: "listing.unsettled".into(),
                message: error.to_string(),
                retryable,
                ..ErrorMap::default()
            },
            Error::Decode { path, message } => ErrorMap {
                status,
                code: "decode".into(),
                message: format!("Unexpected response at `{path}`: {message}"),
                retryable,
                ..ErrorMap::default()
            },
        }
    }

    pub fn to_dynamic(&self) -> Dynamic {
        let opt = |v: &Option<String>| v.clone().map_or(Dynamic::UNIT, Dynamic::from);
        let mut map = Map::new();
        map.insert(
            "status".into(),
            self.status
                .map_or(Dynamic::UNIT, |s| Dynamic::from(s as rhai::INT)),
        );
        map.insert("code".into(), self.code.clone().into());
        map.insert("message".into(), self.message.clone().into());
        map.insert("action_id".into(), opt(&self.action_id));
        map.insert("correlation_id".into(), opt(&self.correlation_id));
        map.insert("retryable".into(), self.retryable.into());
        map.into()
    }

    pub fn throw(&self) -> Box<EvalAltResult> {
        EvalAltResult::ErrorRuntime(self.to_dynamic(), Position::NONE).into()
    }
}

/// `Err(map)` for a local error, ready for `?`.
pub fn throw<T>(code: &str, message: impl Into<String>) -> Result<T, Box<EvalAltResult>> {
    Err(ErrorMap::local(code, message).throw())
}

/// `Err(map)` for an API error.
pub fn api<T>(error: &Error) -> Result<T, Box<EvalAltResult>> {
    Err(ErrorMap::from_api(error).throw())
}

/// Whether an error a script threw (or a host function threw) is worth retrying: the `retryable`
/// field of an error map. Interrupts and script bugs never are.
pub fn is_retryable(error: &EvalAltResult) -> bool {
    match error {
        EvalAltResult::ErrorRuntime(value, _) => value
            .read_lock::<Map>()
            .and_then(|m| m.get("retryable").and_then(|r| r.as_bool().ok()))
            .unwrap_or(false),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => is_retryable(inner),
        _ => false,
    }
}

/// Whether the error (or the error it wraps) is a Ctrl-C interrupt.
pub fn is_interrupt(error: &EvalAltResult) -> bool {
    match error {
        EvalAltResult::ErrorTerminated(..) => true,
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => is_interrupt(inner),
        _ => false,
    }
}

/// One line for an error map thrown and never caught: the message, then status, code, action id
/// and correlation id when known.
pub fn describe_value(value: &Dynamic) -> String {
    let Some(map) = value.read_lock::<Map>() else {
        return super::values::plain(value).to_string();
    };
    let text = |k: &str| map.get(k).filter(|v| !v.is_unit()).map(|v| v.to_string());
    let Some(message) = text("message") else {
        return value.to_string();
    };
    let mut details = Vec::new();
    if let Some(status) = text("status") {
        details.push(format!("status {status}"));
    }
    if let Some(code) = text("code").filter(|c| !c.is_empty()) {
        details.push(format!("code `{code}`"));
    }
    if let Some(id) = text("action_id") {
        details.push(format!("action `{id}`"));
    }
    if let Some(id) = text("correlation_id") {
        details.push(format!("correlation id `{id}`"));
    }
    if details.is_empty() {
        message
    } else {
        format!("{message}\n  ({})", details.join(", "))
    }
}

/// What a person should read for an error, without its position.
pub fn describe(error: &EvalAltResult) -> String {
    let max_operations = super::engine::MAX_OPERATIONS;
    use EvalAltResult as E;
    match error {
        E::ErrorRuntime(value, _) => describe_value(value),
        E::ErrorTerminated(..) => "Interrupted (Ctrl-C).".into(),
        E::ErrorTooManyOperations(_) => format!(
            "The script ran more than {max_operations} operations, the limit that stops endless loops; \
             break the work into smaller scripts or check the loop's exit condition."
        ),
        E::ErrorStackOverflow(_) => {
            "Function calls nested too deeply (the limit is 64 levels); check for unbounded recursion.".into()
        }
        E::ErrorDataTooLarge(what, _) => {
            format!("{what} is over dactl's limit (strings 10 MiB, arrays 1,000,000 items, maps 10,000,000 keys).")
        }
        E::ErrorParsing(kind, _) => format!("Syntax error: {kind}."),
        E::ErrorFunctionNotFound(signature, _) if is_old_verify(signature) => OLD_VERIFY.into(),
        other => {
            // Rhai's own texts are short fragments; make them read as sentences.
            let text = other.to_string();
            let text = text.lines().next().unwrap_or_default().to_owned();
            if text.ends_with('.') { text } else { format!("{text}.") }
        }
    }
}

/// What a script that calls `verify(action_or_id, timeout)` is told: that form (a bool, which
/// ignored a function data action's default) is gone, and what to write instead.
const OLD_VERIFY: &str = "`verify(action_or_id, timeout)` is no longer a form of `verify`: \
    `verify` reads back changes and returns `#{ok, checked, mismatches}`. Write `verify(change).ok` \
    with the change `update_timeout` returned (e.g. `let c = update_timeout(id, 30); if \
    !verify(c).ok { ... }`), or `verify(changes)` for a list; to look at an action's timeout, \
    `fetch_action(action_or_id).timeout_seconds`.";

/// Whether Rhai's signature of a call it found no function for (`verify (string, i64)`) is the
/// old two-argument `verify`.
fn is_old_verify(signature: &str) -> bool {
    signature
        .strip_prefix("verify (")
        .is_some_and(|args| args.split(", ").count() == 2)
}

/// The one function that points at a place in source text:
///
/// ```text
/// error: MESSAGE
///   --> file.rhai:3:9
///    |
///  3 | let a = fetch_action("nope");
///    |         ^
/// ```
pub fn render_at(message: &str, name: &str, source: &str, position: Position) -> String {
    let (Some(line), col) = (position.line(), position.position()) else {
        return format!("error: {message}\n  --> {name}");
    };
    let col = col.unwrap_or(1).max(1);
    let mut out = format!("error: {message}\n  --> {name}:{line}:{col}");
    if let Some(text) = source.lines().nth(line - 1) {
        let number = line.to_string();
        let pad = " ".repeat(number.len());
        // A tab in the source line must stay a tab under it, so the caret lines up.
        let lead: String = text
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!("\n {pad} |\n {number} | {text}\n {pad} | {lead}^"));
    }
    out
}

/// The innermost position and a note for each function or module the error passed through.
pub fn innermost(error: &EvalAltResult) -> (&EvalAltResult, Position, Vec<String>, Option<String>) {
    let mut notes = Vec::new();
    let mut current = error;
    let mut source = None;
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                let shown = if name.starts_with("anon$") {
                    "a closure".to_owned()
                } else {
                    format!("`{name}`")
                };
                notes.push(format!("in a call to {shown} at {}", show_pos(*pos)));
                if !src.is_empty() {
                    source = Some(src.clone());
                }
                current = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                notes.push(format!("in module `{name}` imported at {}", show_pos(*pos)));
                if !name.is_empty() {
                    source = Some(name.clone());
                }
                current = inner;
            }
            other => return (other, other.position(), notes, source),
        }
    }
}

fn show_pos(pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
        (Some(l), None) => l.to_string(),
        _ => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_column() {
        let text = render_at(
            "boom",
            "a.rhai",
            "let x = 1;\nlet y = nope();\n",
            Position::new(2, 9),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "  --> a.rhai:2:9");
        assert_eq!(lines[3], " 2 | let y = nope();");
        let caret = lines[4].find('^').unwrap();
        assert_eq!(&lines[3][caret..caret + 4], "nope");
    }

    #[test]
    fn api_error_description_names_ids() {
        let e = Error::Api {
            status: 404,
            code: "not.found".into(),
            message: "Action not found".into(),
            correlation_id: Some("c-1".into()),
            action_id: Some("a-1".into()),
        };
        let text = describe_value(&ErrorMap::from_api(&e).to_dynamic());
        assert!(
            text.contains("Action not found") && text.contains("`a-1`") && text.contains("`c-1`"),
            "{text}"
        );
        assert!(text.contains("status 404"), "{text}");
    }
}
