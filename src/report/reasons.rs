//! Reasons said once: the skipped and failed changes of a run grouped by why, each group with its
//! count, its reason and (for an API error) its fix apart.
//!
//! An API error names the action it was about and the response's correlation id, so no two
//! actions' reasons are the same text even when the cause is one (a client that lacks
//! `integrations:action:edit` fails every write with "... for action `X` ... (correlation id
//! `Y`)"). `reason_key` takes those out; what is left is the status, the error code and the
//! server's message, and changes are grouped by (status, key). Rows of a table then point at their
//! group (`failed (1)`) instead of repeating it.

use crate::genesys::error::api_fix;

/// What stands for an action id taken out of a reason.
pub const MASK: &str = "…";

/// The part of `reason` that is the same for every action it happened to: the reason without
/// this action's id (` for action `ID``, and the id wherever else it stands as a word, such as a
/// server's `Action ID was not found.` and the fix's ``No action with id `ID` ``, where it becomes
/// `…`) and without any ` (correlation id `...`)`. An API error keeps its status, its code and
/// the server's message, so a 403 and a 404 never share a key, nor two different 400s.
pub fn reason_key(reason: &str, action_id: &str) -> String {
    let mut text = without_correlation_ids(reason);
    if !action_id.is_empty() {
        text = text.replace(&format!(" for action `{action_id}`"), "");
        text = mask_word(&text, action_id);
    }
    text
}

/// `text` without each ` (correlation id `...`)`.
fn without_correlation_ids(text: &str) -> String {
    const OPEN: &str = " (correlation id `";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find("`)") else { break };
        out.push_str(&rest[..start]);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `text` with every occurrence of `word` that is not part of a longer id (letters, digits, `-`,
/// `_` on neither side) replaced by `MASK`.
fn mask_word(text: &str, word: &str) -> String {
    let part_of_id =
        |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = text[at..].find(word) {
        let start = at + found;
        let end = start + word.len();
        out.push_str(&text[at..start]);
        if part_of_id(text[..start].chars().next_back()) || part_of_id(text[end..].chars().next()) {
            out.push_str(word);
        } else {
            out.push_str(MASK);
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// A reason split into what happened and how to fix it, for a reason that ends with an API error
/// (`Genesys Cloud answered STATUS ...: message. FIX`): the fix is found by making it again
/// (`genesys::api_fix` for that status and message) and matching it against the end of the text,
/// so a server message with sentences of its own is never cut in the wrong place. Any other
/// reason comes back whole, with no fix apart (those say their fix in their own words).
pub fn split_fix(reason: &str) -> (String, Option<String>) {
    const ANSWERED: &str = "Genesys Cloud answered ";
    let whole = (reason.to_owned(), None);
    let Some(at) = reason.find(ANSWERED) else {
        return whole;
    };
    let Some(status) = reason[at + ANSWERED.len()..]
        .get(..3)
        .and_then(|s| s.parse::<u16>().ok())
    else {
        return whole;
    };
    let mut from = at;
    while let Some(found) = reason[from..].find(". ") {
        let end = from + found;
        let (what, tail) = (&reason[..=end], &reason[end + 2..]);
        let fixes = [
            api_fix(status, what, Some(MASK)),
            api_fix(status, what, None),
        ];
        if fixes.iter().any(|fix| fix == tail) {
            return (what.to_owned(), Some(tail.to_owned()));
        }
        from = end + 2;
    }
    whole
}

/// One reason and the changes it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The changes' status, e.g. `failed`.
    pub status: String,
    /// The reason without action ids or correlation ids (see `reason_key`), without its fix.
    pub reason: String,
    /// How to fix it, when the reason is an API error whose fix could be told apart.
    pub fix: Option<String>,
    pub count: usize,
}

/// The groups of a list of changes, and which group each change is in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouped {
    /// Most changes first; equal counts in the order they first appear.
    pub groups: Vec<Group>,
    /// For each change given, the index of its group in `groups`; `None`: it has no reason.
    pub of: Vec<Option<usize>>,
}

impl Grouped {
    /// One row per reason, for the reasons table: `(N)`, its count, its status, and the reason
    /// with its fix on a line of its own.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.groups
            .iter()
            .enumerate()
            .map(|(n, g)| {
                let reason = match &g.fix {
                    Some(fix) => format!("{}\nfix: {fix}", g.reason),
                    None => g.reason.clone(),
                };
                vec![
                    format!("({})", n + 1),
                    g.count.to_string(),
                    g.status.clone(),
                    reason,
                ]
            })
            .collect()
    }

    /// The short status of change `index` in a table: `failed (2)` for a change of the second
    /// group, the bare status for one without a reason.
    pub fn label(&self, index: usize, status: &str) -> String {
        match self.of.get(index).copied().flatten() {
            Some(group) => format!("{status} ({})", group + 1),
            None => status.to_owned(),
        }
    }
}

/// Groups changes given as (action id, status, reason) by (status, `reason_key`). Any status
/// with a reason is grouped, so a status added later needs nothing here.
pub fn group<'a>(
    changes: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) -> Grouped {
    let mut groups: Vec<Group> = Vec::new();
    let mut of = Vec::new();
    for (id, status, reason) in changes {
        let Some(reason) = reason else {
            of.push(None);
            continue;
        };
        let key = reason_key(reason, id);
        let index = match groups
            .iter()
            .position(|g| g.status == status && joined(g) == key)
        {
            Some(index) => index,
            None => {
                let (reason, fix) = split_fix(&key);
                groups.push(Group {
                    status: status.to_owned(),
                    reason,
                    fix,
                    count: 0,
                });
                groups.len() - 1
            }
        };
        groups[index].count += 1;
        of.push(Some(index));
    }
    // Most first (a stable sort keeps first appearance among equals); renumber the changes.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(groups[i].count));
    let mut new_index = vec![0; groups.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let groups = order.iter().map(|&i| groups[i].clone()).collect();
    let of = of.into_iter().map(|g| g.map(|g| new_index[g])).collect();
    Grouped { groups, of }
}

/// A group's key again: its reason and fix as one text.
fn joined(group: &Group) -> String {
    match &group.fix {
        Some(fix) => format!("{} {fix}", group.reason),
        None => group.reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::Error;

    /// An API error as the client makes it, about `action` with correlation id `correlation`.
    fn api(status: u16, code: &str, message: &str, action: &str, correlation: &str) -> String {
        Error::Api {
            status,
            code: code.into(),
            message: message.into(),
            correlation_id: Some(correlation.into()),
            action_id: Some(action.into()),
        }
        .to_string()
    }

    const FORBIDDEN: &str = "Unable to perform the requested action. You must have at least one of \
                             the following permissions assigned: [integrations:action:edit]";

    #[test]
    fn the_key_of_an_api_error_drops_the_action_and_correlation_ids() {
        let one = api(403, "missing.any.permissions", FORBIDDEN, "a-1", "c0ffee-1");
        let two = api(
            403,
            "missing.any.permissions",
            FORBIDDEN,
            "b-22",
            "c0ffee-2",
        );
        assert_ne!(one, two);
        let key = reason_key(&one, "a-1");
        assert_eq!(key, reason_key(&two, "b-22"));
        assert!(!key.contains("a-1") && !key.contains("c0ffee"), "{key}");
        // What is left: the status, the code, the server's message and the fix.
        for part in [
            "403",
            "`missing.any.permissions`",
            FORBIDDEN,
            "`integrations:action:edit`",
        ] {
            assert!(key.contains(part), "{part} missing from {key}");
        }
    }

    #[test]
    fn the_key_keeps_what_tells_causes_apart() {
        let forbidden = api(403, "missing.any.permissions", FORBIDDEN, "a", "c1");
        let forbidden_view = api(
            403,
            "missing.any.permissions",
            &FORBIDDEN.replace(":edit", ":view"),
            "a",
            "c1",
        );
        let invalid = api(
            400,
            "invalid.value",
            "timeoutSeconds must be at most 60",
            "a",
            "c1",
        );
        let other_invalid = api(400, "invalid.value", "name is too long", "a", "c1");
        let keys: Vec<String> = [&forbidden, &forbidden_view, &invalid, &other_invalid]
            .iter()
            .map(|r| reason_key(r, "a"))
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn an_id_in_the_servers_message_and_the_fix_is_masked_as_a_word_only() {
        let id = "5f0c1a2e-9b7d-4c3a-8e21-0d9f6b7a1c55";
        let reason = api(
            404,
            "not.found",
            &format!("Action {id} was not found."),
            id,
            "x",
        );
        let key = reason_key(&reason, id);
        assert!(!key.contains(id), "{key}");
        assert!(key.contains("Action … was not found"), "{key}");
        assert!(key.contains("No action with id `…`"), "{key}");
        // The same id inside a longer one is another action: left alone.
        assert_eq!(
            reason_key("see a-1-copy and a-1.", "a-1"),
            "see a-1-copy and …."
        );
        // A reason of dactl's own with the id in it.
        assert_eq!(
            reason_key("There is no action with id `x9`.", "x9"),
            "There is no action with id `…`."
        );
    }

    #[test]
    fn the_fix_of_an_api_error_is_told_apart_even_after_sentences_of_the_server() {
        let reason = api(403, "missing.any.permissions", FORBIDDEN, "a-1", "c");
        let (what, fix) = split_fix(&reason_key(&reason, "a-1"));
        assert_eq!(
            what,
            format!("Genesys Cloud answered 403 `missing.any.permissions`: {FORBIDDEN}.")
        );
        let fix = fix.unwrap();
        assert!(
            fix.starts_with(
                "The OAuth client's role lacks the permission `integrations:action:edit`"
            ),
            "{fix}"
        );
        // A 404 (its fix names the action, masked), a version conflict, a 429 and a 503.
        for (status, code, message) in [
            (404, "not.found", "Action a-1 was not found."),
            (
                400,
                "bad.request",
                "Version 3 does not match the current version 4",
            ),
            (409, "conflict", ""),
            (
                429,
                "too.many.requests",
                "Rate limit exceeded. Retry the request in [3] seconds",
            ),
            (503, "service.unavailable", ""),
        ] {
            let reason = api(status, code, message, "a-1", "c");
            let (what, fix) = split_fix(&reason_key(&reason, "a-1"));
            let fix = fix.unwrap_or_else(|| panic!("no fix found in {reason}"));
            assert_eq!(format!("{what} {fix}"), reason_key(&reason, "a-1"));
            assert!(
                what.starts_with(&format!("Genesys Cloud answered {status}")),
                "{what}"
            );
        }
        // An API error after a step of the draft workflow: the step stays with what happened.
        let step = format!(
            "publishing the draft failed: {}",
            api(503, "service.unavailable", "", "f-1", "c")
        );
        let (what, fix) = split_fix(&reason_key(&step, "f-1"));
        assert!(
            what.starts_with("publishing the draft failed: Genesys Cloud answered 503"),
            "{what}"
        );
        assert!(fix.unwrap().contains("server error"));
        // Not an API error: whole, no fix apart.
        let transport = Error::Transport {
            message: "connection refused".into(),
            timed_out: false,
            connect: true,
        }
        .to_string();
        assert_eq!(split_fix(&transport), (transport.clone(), None));
        assert_eq!(
            split_fix("built-in (static) action"),
            ("built-in (static) action".into(), None)
        );
    }

    #[test]
    fn changes_are_grouped_by_status_and_key_most_first() {
        let forbidden: Vec<String> = (0..5)
            .map(|n| {
                api(
                    403,
                    "missing.any.permissions",
                    FORBIDDEN,
                    &format!("id-{n}"),
                    &format!("c{n}"),
                )
            })
            .collect();
        let ids: Vec<String> = (0..5).map(|n| format!("id-{n}")).collect();
        let mut changes: Vec<(&str, &str, Option<&str>)> = vec![
            ("s-1", "skipped", Some("built-in")),
            ("u-1", "updated", None),
        ];
        for (id, reason) in ids.iter().zip(&forbidden) {
            changes.push((id, "failed", Some(reason)));
        }
        // The same words under another status are another group.
        changes.push(("s-2", "not attempted", Some("built-in")));
        let grouped = group(changes.iter().copied());
        let summary: Vec<(&str, usize)> = grouped
            .groups
            .iter()
            .map(|g| (g.status.as_str(), g.count))
            .collect();
        assert_eq!(
            summary,
            [("failed", 5), ("skipped", 1), ("not attempted", 1)]
        );
        assert!(
            grouped.groups[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("integrations:action:edit")
        );
        assert!(!grouped.groups[0].reason.contains("id-0"));
        assert_eq!(grouped.label(0, "skipped"), "skipped (2)");
        assert_eq!(grouped.label(1, "updated"), "updated");
        assert_eq!(grouped.label(2, "failed"), "failed (1)");
        assert_eq!(grouped.label(7, "not attempted"), "not attempted (3)");
    }
}
