//! Function data actions: their function settings' timeout (1..=15 s) changes through a draft.
//!
//! The cycle: journal the intent, journal that a draft is about to be created (with the published
//! version it copies), create it, put the draft's function settings with only `timeoutSeconds`
//! changed, validate, check the published action has not moved on, publish.
//!
//! A draft is someone's work unless dactl made it. When the create fails because a draft exists,
//! that draft is used only if a journal in the run's journal folder records dactl creating a
//! draft of this action from the version still published, and the draft is still an untouched
//! copy of the action (everything but the function timeout, template text included). Any other
//! draft is left alone and the action skipped with a reason that says who can resolve it and how.
//!
//! Publishing replaces the action with the draft. If someone published a change while dactl
//! prepared its draft, publishing would undo it: so the published version is read just before
//! publishing, and when it moved on, dactl's own draft is brought up to the action as it now is
//! (once) before it is published.

use std::sync::Arc;

use crate::change::apply::{Outcome, change, not_done};
use crate::change::journal::Intent;
use crate::change::snapshot::Snapshot;
use crate::change::{ActionInfo, Engine, Kind, Status, Timeout};
use crate::genesys::Error;
use crate::genesys::models::{Action, UpdateDraftInput};

/// Tries at creating or publishing a draft when the failure was passing.
const DRAFT_ATTEMPTS: u32 = 4;

/// What a draft cycle writes.
pub(crate) enum DraftEdit {
    /// Only the function settings' timeout (`None`: unset, the documented default 15 s).
    Timeout(Option<Timeout>),
    /// The action whole, as a snapshot holds it (the canary's put-back); its function settings'
    /// timeout included.
    Whole(Box<Snapshot>),
}

/// Why a draft cycle did not publish.
pub(crate) enum DraftError {
    /// A step failed; the text names the step.
    Step(Error, String),
    /// A draft exists that dactl did not create (or no longer matches what dactl created).
    Foreign { version: Option<i64> },
    /// Something dactl could not do before any write (the journal); the reason.
    Refused(String),
}

fn step(what: &'static str) -> impl Fn(Error) -> DraftError {
    move |e| DraftError::Step(e, what.to_string())
}

/// The reason an action with someone else's draft is skipped.
fn foreign_draft(version: Option<i64>) -> String {
    let version = version
        .map(|v| format!(" (version {v})"))
        .unwrap_or_default();
    format!(
        "a draft of this action{version} exists that dactl did not create: it is someone's \
         unfinished work, so it was left alone and the timeout was not changed. Whoever owns it \
         can publish or delete it (Admin > Integrations > Actions > the action > Draft); then run \
         again"
    )
}

impl Engine {
    /// Writes the function settings' timeout (`None`: unset, the default 15 s).
    pub(crate) async fn apply_function(
        &self,
        mut info: Arc<ActionInfo>,
        target: Option<Timeout>,
    ) -> Outcome {
        let id = info.action.id.clone();
        if let Some(Err(e)) = target.map(|t| t.check_function()) {
            return Outcome::Done(not_done(&info, Status::Failed, e.message));
        }
        if let Some(halted) = self.halted_outcome(&info) {
            return halted;
        }
        if info.function_timeout.is_none() {
            match self.function_timeout(&id).await {
                // A copy of this one action only when a script holds it too.
                Ok(timeout) => Arc::make_mut(&mut info).function_timeout = timeout,
                Err(e) => return Outcome::Done(self.failed(&info, e)),
            }
        }
        let before = info.function_timeout;
        let after = target.map(|t| i64::from(t.0));
        // Unset means the documented default, 15 s.
        let same = before.unwrap_or(15) == after.unwrap_or(15);
        if let Some(settled) = self.settled_without_a_write(&info, before, after, same) {
            return settled;
        }
        let action = info.action.to_action();
        let intent = Intent {
            action: &action,
            intended_timeout: target.map(|t| t.0),
            target: "function",
            function_before: before,
        };
        if let Err(e) = self.journal.intent(&intent) {
            return Outcome::Done(not_done(&info, Status::Failed, e.to_string()));
        }
        match self
            .publish_through_draft(&id, DraftEdit::Timeout(target))
            .await
        {
            Ok(new_version) => {
                self.record(&id, "updated", new_version, None);
                Outcome::Done(change(&info, before, after, Status::Updated, None))
            }
            Err(DraftError::Foreign { version }) => {
                let reason = foreign_draft(version);
                self.record(&id, "skipped", None, Some(&reason));
                Outcome::Done(not_done(&info, Status::Skipped, reason))
            }
            Err(DraftError::Refused(reason)) => {
                self.record(&id, "failed", None, Some(&reason));
                Outcome::Done(not_done(&info, Status::Failed, reason))
            }
            Err(DraftError::Step(e, step)) if e.is_version_conflict() => {
                self.record(&id, "conflict", None, Some(&e.to_string()));
                match self.client.get_action(&id, true).await {
                    Ok(fresh) => Outcome::Redecide {
                        info: Arc::new(ActionInfo {
                            action: fresh.into(),
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
            Err(DraftError::Step(e, step)) => {
                self.note_error(&e);
                let reason = format!("{step}: {e}");
                self.record(&id, "failed", None, Some(&reason));
                Outcome::Done(not_done(&info, Status::Failed, reason))
            }
        }
    }

    /// Draft, edit, validation, publish; returns the new published version when known.
    pub(crate) async fn publish_through_draft(
        &self,
        id: &str,
        edit: DraftEdit,
    ) -> Result<Option<i64>, DraftError> {
        let published = self
            .client
            .get_action(id, false)
            .await
            .map_err(step("reading the action before creating a draft failed"))?
            .version
            .unwrap_or_default();
        let mut draft = self.obtain_draft(id, published).await?;
        let mut edit = edit;
        let mut expected = published;
        for rebased in [false, true] {
            if let DraftEdit::Whole(snapshot) = &edit {
                draft = self.write_draft(id, &draft, snapshot).await?;
            }
            let settings = self
                .client
                .get_draft_function(id)
                .await
                .map_err(step("reading the draft's function settings failed"))?;
            // Keep every other field of the function (handler, runtime, zip id, ...).
            let function = match &edit {
                DraftEdit::Timeout(target) => {
                    let mut function = settings.function.unwrap_or_default();
                    function.timeout_seconds = target.map(|t| i64::from(t.0));
                    function
                }
                DraftEdit::Whole(snapshot) => snapshot
                    .function
                    .as_ref()
                    .and_then(|f| f.function.clone())
                    .unwrap_or_default(),
            };
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
                return Err(DraftError::Step(
                    error,
                    "the draft is left unpublished".into(),
                ));
            }
            // Publishing replaces the action with the draft: if someone published a change since
            // the draft was made, bring dactl's draft up to the action as it is now, once.
            let now = self
                .client
                .get_action(id, false)
                .await
                .map_err(step("reading the action before publishing failed"))?
                .version
                .unwrap_or_default();
            if now == expected {
                return self.publish(id, &draft, expected).await;
            }
            if rebased {
                break;
            }
            let mut current = self
                .snapshot(id, true)
                .await
                .map_err(step("reading the action that changed meanwhile failed"))?;
            if let (DraftEdit::Timeout(target), Some(settings)) = (&edit, current.function.as_mut())
                && let Some(inner) = settings.function.as_mut()
            {
                inner.timeout_seconds = target.map(|t| i64::from(t.0));
            }
            edit = DraftEdit::Whole(Box::new(current));
            expected = now;
        }
        let error = Error::Api {
            status: 409,
            code: "conflict".into(),
            message: "the action kept being published by someone else while dactl prepared its \
                      draft; dactl's draft was left unpublished (it would have undone their change). \
                      Run again"
                .into(),
            correlation_id: None,
            action_id: Some(id.to_string()),
        };
        Err(DraftError::Step(
            error,
            "publishing the draft failed".into(),
        ))
    }

    /// Publishes `draft`, which copies published version `from`. A publish whose answer was lost
    /// may have happened: the action at `from + 1` with no draft left says it did.
    async fn publish(
        &self,
        id: &str,
        draft: &Action,
        from: i64,
    ) -> Result<Option<i64>, DraftError> {
        let version = draft.version.unwrap_or(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.client.publish_draft(id, version).await {
                Ok(published) => return Ok(published.version),
                Err(e) => e,
            };
            if let Ok(now) = self.client.get_action(id, false).await
                && now.version == Some(from + 1)
                && self.client.get_draft(id, false).await.is_err()
            {
                return Ok(now.version);
            }
            if attempt >= DRAFT_ATTEMPTS || !error.is_retryable() || error.is_version_conflict() {
                return Err(DraftError::Step(
                    error,
                    "publishing the draft failed".into(),
                ));
            }
        }
    }

    /// The draft's name, category, config (template text included), contract and `secure` set
    /// to the snapshot's.
    async fn write_draft(
        &self,
        id: &str,
        draft: &Action,
        snapshot: &Snapshot,
    ) -> Result<Action, DraftError> {
        let body = UpdateDraftInput {
            name: snapshot.action.name.clone(),
            category: snapshot.action.category.clone(),
            config: snapshot.action.config.clone(),
            contract: snapshot.action.extra.get("contract").cloned(),
            secure: snapshot.action.secure,
            version: draft.version.unwrap_or(1),
        };
        self.client
            .patch_draft(id, &body)
            .await
            .map_err(step("writing the draft's config failed"))
    }

    /// Creates the draft, after journaling that it is about to. When the create fails and a
    /// draft exists, it is used only if it is dactl's own and untouched (see the module doc);
    /// when none exists and the error was passing (connection, 5xx, 429), it tries again.
    async fn obtain_draft(&self, id: &str, published: i64) -> Result<Action, DraftError> {
        self.journal
            .draft(id, published)
            .map_err(|e| DraftError::Refused(e.to_string()))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.client.create_draft(id).await {
                Ok(draft) => return Ok(draft),
                Err(e) => e,
            };
            if let Ok(existing) = self.client.get_draft(id, false).await {
                return match self.own_draft(id, published).await {
                    true => Ok(existing),
                    false => Err(DraftError::Foreign {
                        version: existing.version,
                    }),
                };
            }
            if attempt >= DRAFT_ATTEMPTS || !error.is_retryable() || error.is_version_conflict() {
                return Err(DraftError::Step(error, "creating a draft failed".into()));
            }
        }
    }

    /// Whether the action's draft is dactl's own: a journal records creating it from the version
    /// still published, and it is still an untouched copy of the action.
    async fn own_draft(&self, id: &str, published: i64) -> bool {
        if !self.journal.created_draft(id, published) {
            return false;
        }
        let (Ok(draft), Ok(action)) = (
            self.draft_snapshot(id, true).await,
            self.snapshot(id, true).await,
        ) else {
            return false;
        };
        action.action.version == Some(published) && action.differences(&draft).is_empty()
    }
}
