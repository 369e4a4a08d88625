//! Function data actions: their function settings' timeout (1..=15 s) changes through a draft.
//!
//! The cycle: journal the intent, journal that a draft is about to be asked for (with the
//! published version it copies), create it and journal that the platform created it, put the
//! draft's function settings with only `timeoutSeconds` changed, validate, check the published
//! action has not moved on, publish.
//!
//! A draft is someone's work unless dactl can prove it made it. It is dactl's own only when a
//! journal (this run's, or an earlier one's in the same folder) records the platform answering
//! dactl's create of it (`draft_created`) from the version still published, and the draft is
//! still an untouched copy of the action: everything compared, `config.timeoutSeconds`
//! included, but the function timeout, which may be only the published one or one dactl meant to
//! write. A create refused because a draft exists, or one whose answer never came, proves
//! nothing: that draft is left alone and the action skipped with a reason that says who can
//! resolve it and how.
//!
//! Publishing replaces the action with the draft. If someone published a change while dactl
//! prepared its draft, publishing would undo it: so the published version is read just before
//! publishing, and when it moved on, dactl's own draft is brought up to the action as it now is
//! (once) before it is published. A cycle that fails after dactl created its draft deletes that
//! draft (still checked untouched first), so no draft holding the run's timeout is left for
//! someone to publish; `undo` deletes one a killed run left.

use std::sync::Arc;

use crate::change::apply::{Outcome, change, not_done, outcome_unknown};
use crate::change::journal::{DraftRecord, Intent, Recorded, Target};
use crate::change::snapshot::{Snapshot, Written};
use crate::change::{ActionInfo, Engine, FUNCTION_DEFAULT_SECONDS, Kind, Status, Timeout};
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

/// Why a draft in the way is not dactl's to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotOwn {
    /// No journal records dactl creating it.
    Someone,
    /// dactl asked for a draft and no answer came (lost, or the run was killed): this may be it,
    /// but that cannot be proven.
    Unanswered,
    /// dactl created a draft of this action, but it is no longer an untouched copy of the action
    /// as published (the draft was edited, or the action published since).
    Changed,
}

/// Who a draft belongs to, as far as dactl can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// There is no draft.
    None,
    Own,
    NotOwn(NotOwn),
}

/// Why a draft cycle did not publish.
pub(crate) enum DraftError {
    /// A step failed; the text names the step (and what became of dactl's draft).
    Step(Error, String),
    /// A draft is in the way that dactl cannot prove is its own.
    Foreign { version: Option<i64>, why: NotOwn },
    /// Something dactl could not do before any write (the journal); the reason.
    Refused(String),
}

fn step(what: &'static str) -> impl Fn(Error) -> DraftError {
    move |e| DraftError::Step(e, what.to_string())
}

/// The reason an action with a draft dactl cannot prove its own is left alone.
pub(crate) fn not_own_reason(version: Option<i64>, why: NotOwn) -> String {
    let version = version
        .map(|v| format!(" (version {v})"))
        .unwrap_or_default();
    let whose = match why {
        NotOwn::Someone => format!(
            "a draft of this action{version} exists that dactl did not create: it is someone's \
             unfinished work"
        ),
        NotOwn::Unanswered => format!(
            "a draft of this action{version} exists, and dactl's own request to create one got no \
             answer (lost, or the run was stopped): it may be dactl's, but that cannot be proven"
        ),
        NotOwn::Changed => format!(
            "a draft of this action{version} that dactl created is no longer an untouched copy \
             of the action (the draft was edited, or the action was published since)"
        ),
    };
    format!(
        "{whose}, so it was left alone and the timeout was not changed. Whoever owns it can \
         publish or delete it (Admin > Integrations > Actions > the action > Draft); then run again"
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
        let same =
            before.unwrap_or(FUNCTION_DEFAULT_SECONDS) == after.unwrap_or(FUNCTION_DEFAULT_SECONDS);
        if let Some(settled) = self.settled_without_a_write(&info, before, after, same) {
            return settled;
        }
        let action = info.action.to_action();
        let intent = Intent {
            action: &action,
            intended_timeout: target.map(|t| t.0),
            target: Target::Function,
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
                self.record(&id, Recorded::Updated, new_version, None);
                Outcome::Done(change(&info, before, after, Status::Updated, None))
            }
            Err(DraftError::Foreign { version, why }) => {
                let reason = not_own_reason(version, why);
                self.record(&id, Recorded::Skipped, None, Some(&reason));
                Outcome::Done(not_done(&info, Status::Skipped, reason))
            }
            Err(DraftError::Refused(reason)) => {
                self.record(&id, Recorded::Failed, None, Some(&reason));
                Outcome::Done(not_done(&info, Status::Failed, reason))
            }
            Err(DraftError::Step(e, step)) if e.is_version_conflict() => {
                self.record(&id, Recorded::Conflict, None, Some(&e.to_string()));
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
                self.record(&id, Recorded::Failed, None, Some(&reason));
                Outcome::Done(not_done(&info, Status::Failed, reason))
            }
        }
    }

    /// Draft, edit, validation, publish; returns the new published version when known. A cycle
    /// that fails once dactl has its draft deletes that draft (see the module doc), and its
    /// step says what became of it.
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
        let draft = self.obtain_draft(id, published).await?;
        // The function timeouts dactl's draft may hold: the published one, or this edit's.
        let writes = match &edit {
            DraftEdit::Timeout(target) => vec![target.map(|t| i64::from(t.0))],
            DraftEdit::Whole(snapshot) => vec![snapshot.function_timeout()],
        };
        let mut copies = published;
        match self.edit_and_publish(id, draft, edit, &mut copies).await {
            Err(DraftError::Step(e, what)) => {
                let left = self.discard_own_draft(id, copies, &writes).await;
                Err(DraftError::Step(e, format!("{what} ({left})")))
            }
            done => done,
        }
    }

    /// The steps after the draft exists: its edit, validation, the check that the published
    /// action has not moved on (`copies` is the version the draft copies, moved on by a rebase),
    /// publish.
    async fn edit_and_publish(
        &self,
        id: &str,
        mut draft: Action,
        mut edit: DraftEdit,
        copies: &mut i64,
    ) -> Result<Option<i64>, DraftError> {
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
                    "the draft was not published".into(),
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
            if now == *copies {
                return self.publish(id, &draft, *copies).await;
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
            *copies = now;
        }
        let error = Error::Api {
            status: 409,
            code: "conflict".into(),
            message: "the action kept being published by someone else while dactl prepared its \
                      draft, so dactl did not publish it (it would have undone their change). \
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
    /// may have happened: the action at `from + 1` with no draft left says it did (dactl's draft
    /// was the only one there could be).
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

    /// Asks for a draft, after journaling that it is about to, and journals the platform's
    /// answer. When the create fails and a draft exists, it is used only if it is dactl's own
    /// and untouched (see the module doc); when none exists and the error was passing
    /// (connection, 5xx, 429), it asks again.
    async fn obtain_draft(&self, id: &str, published: i64) -> Result<Action, DraftError> {
        self.journal
            .draft(id, published)
            .map_err(|e| DraftError::Refused(e.to_string()))?;
        let mut unanswered = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.client.create_draft(id).await {
                Ok(draft) => {
                    if let Err(e) = self.journal.draft_created(id, published, draft.version) {
                        // dactl's own draft, but no journal would say so: delete it now rather
                        // than leave a draft nobody can tell is dactl's.
                        if let Err(delete) = self.client.delete_draft(id).await {
                            tracing::warn!("{delete}");
                        }
                        return Err(DraftError::Refused(e.to_string()));
                    }
                    return Ok(draft);
                }
                Err(e) => e,
            };
            unanswered |= outcome_unknown(&error);
            if let Ok(existing) = self.client.get_draft(id, false).await {
                let record = self.journal.drafts_of(id);
                let why = if record.created_from.contains(&published) {
                    match self
                        .draft_ownership(id, published, &record.intended())
                        .await
                    {
                        Ok(Ownership::Own) => return Ok(existing),
                        _ => NotOwn::Changed,
                    }
                } else if !record.created_from.is_empty() {
                    NotOwn::Changed
                } else if unanswered || record.unanswered {
                    NotOwn::Unanswered
                } else {
                    NotOwn::Someone
                };
                return Err(DraftError::Foreign {
                    version: existing.version,
                    why,
                });
            }
            if attempt >= DRAFT_ATTEMPTS || !error.is_retryable() || error.is_version_conflict() {
                return Err(DraftError::Step(error, "creating a draft failed".into()));
            }
        }
    }

    /// Whose the action's draft is, for a draft dactl created as a copy of published version
    /// `copies`: its own while the action is still at that version and the draft an untouched
    /// copy of it (everything but the function timeout compared, `config.timeoutSeconds`
    /// included), with a function timeout that is the published one or one of `writes` (what
    /// dactl meant to write through it).
    pub(crate) async fn draft_ownership(
        &self,
        id: &str,
        copies: i64,
        writes: &[Option<i64>],
    ) -> Result<Ownership, Error> {
        let draft = match self.draft_snapshot(id, true).await {
            Ok(draft) => draft,
            Err(e) if e.status() == Some(404) => return Ok(Ownership::None),
            Err(e) => return Err(e),
        };
        let action = self.snapshot(id, true).await?;
        let untouched = action.action.version == Some(copies)
            && action
                .differences(&draft, Written::FunctionTimeout)
                .is_empty()
            && (draft.function_timeout() == action.function_timeout()
                || writes.contains(&draft.function_timeout()));
        Ok(match untouched {
            true => Ownership::Own,
            false => Ownership::NotOwn(NotOwn::Changed),
        })
    }

    /// Deletes the draft dactl created in a cycle that failed, if it is still dactl's own;
    /// returns what became of it, for the failed step's reason.
    async fn discard_own_draft(&self, id: &str, copies: i64, writes: &[Option<i64>]) -> String {
        let undo =
            "`dactl undo` with this run's journal deletes it once it is dactl's untouched copy";
        match self.draft_ownership(id, copies, writes).await {
            Ok(Ownership::None) => "no draft of dactl's is left".into(),
            Ok(Ownership::Own) => match self.delete_own_draft(id).await {
                Ok(()) => "dactl deleted the draft it had created".into(),
                Err(e) => {
                    format!("dactl's draft is left in the org: deleting it failed: {e}; {undo}")
                }
            },
            Ok(Ownership::NotOwn(_)) => "dactl's draft is left in the org: it was changed \
                 meanwhile, so dactl did not delete it"
                .into(),
            Err(e) => {
                format!("dactl's draft may be left in the org: checking it failed: {e}; {undo}")
            }
        }
    }

    /// Deletes a draft dactl has shown to be its own, journaled before and after.
    pub(crate) async fn delete_own_draft(&self, id: &str) -> Result<(), String> {
        self.journal
            .draft_delete(id, false)
            .map_err(|e| e.to_string())?;
        match self.client.delete_draft(id).await {
            Ok(()) => {}
            // Already gone: what the delete was for.
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e.to_string()),
        }
        self.journal
            .draft_delete(id, true)
            .map_err(|e| e.to_string())
    }
}

impl DraftRecord {
    /// The function timeouts dactl meant to write through its drafts, as `Option<i64>`.
    pub(crate) fn intended(&self) -> Vec<Option<i64>> {
        self.intended.iter().map(|t| t.map(i64::from)).collect()
    }
}
