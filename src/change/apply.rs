//! The safe read-modify-write of timeouts, for one action and for many at once.
//!
//! For a standard action (see `../shared/genesys-api.md`, "Changing a timeout safely"):
//! 1. use the config read with `includeConfig=true` (the listing's; read it only if missing);
//! 2. already at the target: `Unchanged`, no request; dry run: `Planned`, no request;
//! 3. fill in template text the config names only by URI (`/templates/{file}`);
//! 4. journal the intent (on disk before the request), then PATCH `{name, category, version,
//!    config}` with the whole config and only `timeoutSeconds` changed;
//! 5. on a version conflict, or an error that leaves the outcome unknown (dropped connection,
//!    timeout, a gateway's 5xx), re-read: if the action is what was sent (timeout, name,
//!    category) at the next version, the write landed (`Updated`, no second write); otherwise the
//!    fresh action goes back to the caller to be decided again (bounded, see `run_rounds`).
//!
//! Function data actions get their function settings' timeout (1..=15) through a draft: create
//! it, put the draft's function settings with only `timeoutSeconds` changed, validate, publish.
//!
//! Deciding is the caller's: `run_rounds` calls a synchronous `decide` (a Rhai closure must not
//! run inside async tasks), hands the decided actions to an async runner (`Engine::apply`), and
//! decides again on the fresh actions that came back from conflicts, a bounded number of rounds.

use futures::StreamExt;

use crate::change::journal::Intent;
use crate::change::{ActionInfo, Change, Engine, Kind, Status, Timeout};
use crate::genesys::Error;
use crate::genesys::models::{Action, ActionConfig, UpdateActionInput};

/// A decided change, ready to apply.
#[derive(Debug, Clone)]
pub struct Planned {
    pub info: ActionInfo,
    pub target: Timeout,
}

/// How applying one planned change ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done(Change),
    /// The action changed under us (version conflict, or a write whose outcome is unknown and did
    /// not land): here it is as re-read, to be decided again.
    Redecide {
        info: Box<ActionInfo>,
        reason: String,
    },
}

fn change(
    info: &ActionInfo,
    before: Option<i64>,
    after: Option<i64>,
    status: Status,
    reason: Option<String>,
) -> Change {
    Change {
        id: info.action.id.clone(),
        name: info.action.name.clone(),
        category: info.action.category.clone(),
        kind: info.kind,
        before,
        after,
        status,
        reason,
    }
}

fn before_of(info: &ActionInfo) -> Option<i64> {
    match info.kind {
        Kind::Function => info.function_timeout,
        _ => info.action.config.as_ref().and_then(|c| c.timeout_seconds),
    }
}

/// A change that did not happen, with its reason.
pub(crate) fn not_done(info: &ActionInfo, status: Status, reason: impl Into<String>) -> Change {
    change(info, before_of(info), None, status, Some(reason.into()))
}

/// The reason a kind cannot take a timeout, if it cannot.
pub fn refusal(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Static => Some("built-in (static) action: the platform does not allow changing it"),
        Kind::CustomAuth => Some(
            "custom authentication action: `timeoutSeconds` is not valid on authentication actions",
        ),
        Kind::Standard | Kind::Function => None,
    }
}

/// Tries at creating or publishing a draft when the failure was passing.
const DRAFT_ATTEMPTS: u32 = 4;

/// Names the step of the draft workflow an error came from.
fn step(what: &'static str) -> impl Fn(Error) -> (Error, String) {
    move |e| (e, what.to_string())
}

/// The last path segment of a template URI: `requesttemplate.vm`.
fn template_file(uri: &str) -> &str {
    let path = uri.split(['?', '#']).next().unwrap_or(uri);
    path.rsplit('/').next().unwrap_or(path)
}

/// A write that ended this way may or may not have happened: the connection dropped or timed
/// out, or a gateway answered for the platform (500, 502, 503, 504) after the client's retries.
fn outcome_unknown(error: &Error) -> bool {
    matches!(error, Error::Transport { .. })
        || matches!(error.status(), Some(500 | 502 | 503 | 504))
}

/// Whether `fresh` is what was sent at `sent_version`, one version on: the write landed.
fn landed(fresh: &Action, sent: &UpdateActionInput, target: Option<Timeout>) -> bool {
    fresh.version == Some(sent.version + 1)
        && fresh.config.as_ref().and_then(|c| c.timeout_seconds) == target.map(|t| i64::from(t.0))
        && fresh.name == sent.name
        && fresh.category == sent.category
}

impl Engine {
    /// The outcomes that need no write: already there (`same`), planned (dry run), or interrupted
    /// before the write started. `None`: go on and write.
    fn settled_without_a_write(
        &self,
        info: &ActionInfo,
        before: Option<i64>,
        after: Option<i64>,
        same: bool,
    ) -> Option<Outcome> {
        if same {
            return Some(Outcome::Done(change(
                info,
                before,
                after,
                Status::Unchanged,
                None,
            )));
        }
        if self.dry_run() {
            return Some(Outcome::Done(change(
                info,
                before,
                after,
                Status::Planned,
                None,
            )));
        }
        if self.cancelled() {
            return Some(Outcome::Done(not_done(
                info,
                Status::Skipped,
                "interrupted before this write started",
            )));
        }
        None
    }

    /// Applies decided changes concurrently (at most `concurrency` at once); results in input order.
    pub async fn apply(&self, planned: Vec<Planned>) -> Vec<Outcome> {
        self.apply_observed(planned, &|_| {}).await
    }

    /// `apply`, calling `observe` as each change ends (for a progress bar).
    pub async fn apply_observed(
        &self,
        planned: Vec<Planned>,
        observe: &(dyn Fn(&Outcome) + Sync),
    ) -> Vec<Outcome> {
        let mut results: Vec<(usize, Outcome)> =
            futures::stream::iter(planned.into_iter().enumerate())
                .map(|(index, p)| async move {
                    let outcome = self.apply_one(p).await;
                    observe(&outcome);
                    (index, outcome)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, outcome)| outcome).collect()
    }

    /// Applies one decided change.
    pub async fn apply_one(&self, planned: Planned) -> Outcome {
        let Planned { info, target } = planned;
        if let Some(reason) = refusal(info.kind) {
            return Outcome::Done(not_done(&info, Status::Skipped, reason));
        }
        match info.kind {
            Kind::Function => self.apply_function(info, Some(target)).await,
            _ => self.apply_standard(info, Some(target)).await,
        }
    }

    /// Puts one action back to `to` (`None`: no timeout at all, the field removed), with the same
    /// safety as `apply_one`: journaled first, conflicts and unknown outcomes re-read. This is
    /// what `undo` writes.
    pub async fn restore_one(&self, info: ActionInfo, to: Option<Timeout>) -> Outcome {
        if let Some(reason) = refusal(info.kind) {
            return Outcome::Done(not_done(&info, Status::Skipped, reason));
        }
        match info.kind {
            Kind::Function => self.apply_function(info, to).await,
            _ => self.apply_standard(info, to).await,
        }
    }

    /// Writes `target` (`None` removes `timeoutSeconds`).
    async fn apply_standard(&self, mut info: ActionInfo, target: Option<Timeout>) -> Outcome {
        let id = info.action.id.clone();
        if info.action.config.is_none() {
            // Never build a config from a read without it: that would drop the templates.
            match self.client.get_action(&id, true).await {
                Ok(action) => info.action = action,
                Err(e) => return Outcome::Done(not_done(&info, Status::Failed, e.to_string())),
            }
        }
        let before = before_of(&info);
        let after = target.map(|t| i64::from(t.0));
        if let Some(settled) = self.settled_without_a_write(&info, before, after, before == after) {
            return settled;
        }
        let Some(version) = info.action.version else {
            return Outcome::Done(not_done(
                &info,
                Status::Failed,
                "the action was read without a version; nothing was written",
            ));
        };
        let mut config = info.action.config.clone().unwrap_or_default();
        if let Err(e) = self.fill_templates(&id, &mut config).await {
            return Outcome::Done(not_done(
                &info,
                Status::Failed,
                format!("could not read the action's template text, so nothing was written: {e}"),
            ));
        }
        config.timeout_seconds = after;
        let body = UpdateActionInput {
            name: info.action.name.clone(),
            category: info.action.category.clone(),
            config: Some(config),
            version,
        };
        let intent = Intent {
            action: &info.action,
            intended_timeout: target.map(|t| t.0),
            target: "action",
            function_before: None,
        };
        if let Err(e) = self.journal.intent(&intent) {
            return Outcome::Done(not_done(&info, Status::Failed, e.to_string()));
        }
        match self.client.patch_action(&id, &body).await {
            Ok(updated) => {
                self.record(&id, "updated", updated.version, None);
                Outcome::Done(change(&info, before, after, Status::Updated, None))
            }
            Err(e) if e.is_version_conflict() || outcome_unknown(&e) => {
                let conflict = e.is_version_conflict();
                match self.client.get_action(&id, true).await {
                    Ok(fresh) if landed(&fresh, &body, target) => {
                        self.record(&id, "updated", fresh.version, None);
                        Outcome::Done(change(&info, before, after, Status::Updated, None))
                    }
                    Ok(fresh) => {
                        let status = if conflict { "conflict" } else { "not_applied" };
                        self.record(&id, status, fresh.version, Some(&e.to_string()));
                        let fresh_info = ActionInfo {
                            action: fresh,
                            kind: info.kind,
                            function_timeout: None,
                        };
                        Outcome::Redecide {
                            info: Box::new(fresh_info),
                            reason: e.to_string(),
                        }
                    }
                    Err(read) => {
                        let reason = format!(
                            "{e}; reading the action back also failed, so whether it changed is unknown: {read}"
                        );
                        self.record(&id, "unknown", None, Some(&reason));
                        Outcome::Done(not_done(&info, Status::Failed, reason))
                    }
                }
            }
            Err(e) => {
                self.record(&id, "failed", None, Some(&e.to_string()));
                Outcome::Done(not_done(&info, Status::Failed, e.to_string()))
            }
        }
    }

    /// Puts the text of templates named only by URI into the config, so the PATCH carries them.
    async fn fill_templates(&self, id: &str, config: &mut ActionConfig) -> Result<(), Error> {
        if let Some(uri) = config.request_template_uri_only() {
            let text = self.client.get_template(id, template_file(&uri)).await?;
            config
                .request
                .get_or_insert_default()
                .insert("requestTemplate".into(), text.into());
        }
        if let Some(uri) = config.success_template_uri_only() {
            let text = self.client.get_template(id, template_file(&uri)).await?;
            config
                .response
                .get_or_insert_default()
                .insert("successTemplate".into(), text.into());
        }
        Ok(())
    }

    /// Writes the function settings' timeout (`None`: unset, the default 15 s).
    async fn apply_function(&self, mut info: ActionInfo, target: Option<Timeout>) -> Outcome {
        let id = info.action.id.clone();
        if let Some(Err(e)) = target.map(|t| t.check_function()) {
            return Outcome::Done(not_done(&info, Status::Failed, e.message));
        }
        if info.function_timeout.is_none() {
            match self.function_timeout(&id).await {
                Ok(timeout) => info.function_timeout = timeout,
                Err(e) => return Outcome::Done(not_done(&info, Status::Failed, e.to_string())),
            }
        }
        let before = info.function_timeout;
        let after = target.map(|t| i64::from(t.0));
        // Unset means the documented default, 15 s.
        let same = before.unwrap_or(15) == after.unwrap_or(15);
        if let Some(settled) = self.settled_without_a_write(&info, before, after, same) {
            return settled;
        }
        let intent = Intent {
            action: &info.action,
            intended_timeout: target.map(|t| t.0),
            target: "function",
            function_before: before,
        };
        if let Err(e) = self.journal.intent(&intent) {
            return Outcome::Done(not_done(&info, Status::Failed, e.to_string()));
        }
        match self.publish_function_timeout(&id, target).await {
            Ok(new_version) => {
                self.record(&id, "updated", new_version, None);
                Outcome::Done(change(&info, before, after, Status::Updated, None))
            }
            Err((e, step)) if e.is_version_conflict() => {
                self.record(&id, "conflict", None, Some(&e.to_string()));
                match self.client.get_action(&id, true).await {
                    Ok(fresh) => Outcome::Redecide {
                        info: Box::new(ActionInfo {
                            action: fresh,
                            kind: Kind::Function,
                            function_timeout: None,
                        }),
                        reason: format!("{step}: {e}"),
                    },
                    Err(read) => Outcome::Done(not_done(
                        &info,
                        Status::Failed,
                        format!("{step}: {e}; re-reading failed: {read}"),
                    )),
                }
            }
            Err((e, step)) => {
                let reason = format!("{step}: {e}");
                self.record(&id, "failed", None, Some(&reason));
                Outcome::Done(not_done(&info, Status::Failed, reason))
            }
        }
    }

    /// Draft, function settings, validation, publish. The error names the step that failed.
    async fn publish_function_timeout(
        &self,
        id: &str,
        target: Option<Timeout>,
    ) -> Result<Option<i64>, (Error, String)> {
        let draft = self.obtain_draft(id).await?;
        let settings = self
            .client
            .get_draft_function(id)
            .await
            .map_err(step("reading the draft's function settings failed"))?;
        // Keep every other field of the function (handler, runtime, zip id, ...).
        let mut function = settings.function.unwrap_or_default();
        function.timeout_seconds = target.map(|t| i64::from(t.0));
        self.client
            .put_draft_function(id, &function)
            .await
            .map_err(step("writing the draft's function settings failed"))?;
        let validation = self
            .client
            .validate_draft(id)
            .await
            .map_err(step("validating the draft failed"))?;
        if !validation.valid {
            let errors = serde_json::to_string(&validation.errors).unwrap_or_default();
            let error = Error::Api {
                status: 400,
                code: "invalid.draft".into(),
                message: format!("the draft did not validate: {errors}"),
                correlation_id: None,
                action_id: Some(id.to_string()),
            };
            return Err((error, "the draft is left unpublished".into()));
        }
        let version = draft.version.unwrap_or(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.client.publish_draft(id, version).await {
                Ok(published) => return Ok(published.version),
                Err(e) => e,
            };
            // A publish whose answer was lost may have happened: the published settings tell.
            if let Ok(now) = self.function_timeout(id).await
                && now.unwrap_or(15) == target.map_or(15, |t| i64::from(t.0))
            {
                return Ok(None);
            }
            if attempt >= DRAFT_ATTEMPTS || !error.is_retryable() || error.is_version_conflict() {
                return Err((error, "publishing the draft failed".into()));
            }
        }
    }

    /// Creates the draft. When the create fails, a draft that exists and is still an untouched
    /// copy of the published action is used (most likely ours, from a create whose answer was
    /// lost); when none exists and the error was passing (connection, 5xx, 429), it tries again.
    async fn obtain_draft(&self, id: &str) -> Result<Action, (Error, String)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.client.create_draft(id).await {
                Ok(draft) => return Ok(draft),
                Err(e) => e,
            };
            if let Some(draft) = self.reusable_draft(id).await {
                return Ok(draft);
            }
            if attempt >= DRAFT_ATTEMPTS || !error.is_retryable() || error.is_version_conflict() {
                let step =
                    "creating a draft failed (an unpublished draft with other changes may exist)";
                return Err((error, step.into()));
            }
        }
    }

    /// A draft that is an untouched copy of the published action (same name, category and
    /// function settings). A draft with other changes is someone else's work and is left alone.
    async fn reusable_draft(&self, id: &str) -> Option<Action> {
        let draft = self.client.get_draft(id, false).await.ok()?;
        let published = self.client.get_action(id, false).await.ok()?;
        let draft_function = self.client.get_draft_function(id).await.ok()?;
        let function = self.client.get_function(id).await.ok()?;
        let untouched = draft.name == published.name
            && draft.category == published.category
            && draft_function.function == function.function;
        untouched.then_some(draft)
    }

    /// Writes an outcome line. The write already happened, so a failure here cannot stop it;
    /// it is logged, and readers of the journal treat an intent without an outcome as unknown.
    fn record(&self, id: &str, status: &str, new_version: Option<i64>, error: Option<&str>) {
        if let Err(e) = self.journal.outcome(id, status, new_version, error) {
            tracing::warn!("{e}");
        }
    }
}

/// Decides and applies in rounds: `decide` (synchronous) for every target, `run` (the async
/// apply, blocked on by the caller) for the decided ones, then `decide` again on the actions that
/// came back fresh from a conflict; at most `max_rounds` rounds. Results follow `targets`' order.
pub fn run_rounds(
    targets: Vec<ActionInfo>,
    decide: &mut dyn FnMut(&ActionInfo) -> Result<Option<Timeout>, String>,
    max_rounds: u32,
    mut run: impl FnMut(Vec<Planned>) -> Vec<Outcome>,
) -> Vec<Change> {
    let mut results: Vec<Option<Change>> = vec![None; targets.len()];
    let mut pending: Vec<(usize, ActionInfo)> = targets.into_iter().enumerate().collect();
    let mut last_reason: Vec<Option<String>> = vec![None; results.len()];
    for _round in 0..max_rounds.max(1) {
        if pending.is_empty() {
            break;
        }
        let mut planned = Vec::new();
        let mut indexes = Vec::new();
        for (index, info) in pending.drain(..) {
            if let Some(reason) = refusal(info.kind) {
                results[index] = Some(not_done(&info, Status::Skipped, reason));
                continue;
            }
            match decide(&info) {
                Err(reason) => results[index] = Some(not_done(&info, Status::Failed, reason)),
                Ok(None) => {
                    results[index] = Some(not_done(
                        &info,
                        Status::Skipped,
                        "left as is: no new timeout was chosen",
                    ))
                }
                Ok(Some(target)) => {
                    indexes.push(index);
                    planned.push(Planned { info, target });
                }
            }
        }
        if planned.is_empty() {
            break;
        }
        for (index, outcome) in indexes.into_iter().zip(run(planned)) {
            match outcome {
                Outcome::Done(change) => results[index] = Some(change),
                Outcome::Redecide { info, reason } => {
                    last_reason[index] = Some(reason);
                    pending.push((index, *info));
                }
            }
        }
    }
    for (index, info) in pending {
        let last = last_reason[index].take().unwrap_or_default();
        results[index] = Some(not_done(
            &info,
            Status::Failed,
            format!(
                "the action kept changing while dactl updated it ({max_rounds} attempts); run again. Last error: {last}"
            ),
        ));
    }
    results
        .into_iter()
        .map(|c| c.expect("every target gets a result"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, kind: Kind, timeout: Option<i64>) -> ActionInfo {
        let action: Action = serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("n-{id}"), "version": 1, "config": {"timeoutSeconds": timeout}
        }))
        .unwrap();
        ActionInfo {
            action,
            kind,
            function_timeout: None,
        }
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

    #[test]
    fn rounds_decide_again_after_a_conflict_and_are_bounded() {
        let targets = vec![
            info("a", Kind::Standard, Some(5)),
            info("static_b", Kind::Static, Some(5)),
            info("c", Kind::Standard, Some(5)),
            info("d", Kind::Standard, Some(5)),
            info("e", Kind::Standard, Some(5)),
        ];
        let mut calls: Vec<String> = Vec::new();
        let mut decide = |i: &ActionInfo| -> Result<Option<Timeout>, String> {
            calls.push(i.action.id.clone());
            match i.action.id.as_str() {
                "d" => Ok(None),
                "e" => Err("no".into()),
                _ => Ok(Some(Timeout(30))),
            }
        };
        let mut rounds = 0;
        let changes = run_rounds(targets, &mut decide, 3, |planned| {
            rounds += 1;
            planned
                .into_iter()
                .map(|p| match p.info.action.id.as_str() {
                    // `a` conflicts once, then lands; `c` conflicts every time.
                    "a" if rounds == 1 => Outcome::Redecide {
                        info: Box::new(p.info),
                        reason: "409".into(),
                    },
                    "c" => Outcome::Redecide {
                        info: Box::new(p.info),
                        reason: "409 again".into(),
                    },
                    _ => Outcome::Done(change(&p.info, Some(5), Some(30), Status::Updated, None)),
                })
                .collect()
        });
        assert_eq!(rounds, 3);
        assert_eq!(calls, ["a", "c", "d", "e", "a", "c", "c"]);
        let statuses: Vec<_> = changes.iter().map(|c| (c.id.as_str(), c.status)).collect();
        assert_eq!(
            statuses,
            [
                ("a", Status::Updated),
                ("static_b", Status::Skipped),
                ("c", Status::Failed),
                ("d", Status::Skipped),
                ("e", Status::Failed)
            ]
        );
        assert!(changes[2].reason.as_deref().unwrap().contains("409 again"));
        assert!(changes[1].reason.as_deref().unwrap().contains("static"));
        assert_eq!(changes[4].reason.as_deref(), Some("no"));
    }
}
