//! `Engine`: the client, the classifier, the journal and the run's switches (dry run, cancel),
//! plus the reads that return classified actions. The writes are in `apply`, read-back in `verify`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::change::canary::CanaryState;
use crate::change::{ActionInfo, Classifier, Journal, Kind};
use crate::genesys::{ActionQuery, Client, Error};

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// No write request of any kind; changes come back `Planned`.
    pub dry_run: bool,
    /// Journal file; `None`: the default under the XDG state dir.
    pub journal: Option<PathBuf>,
    /// Actions worked on at once (the client's own limits apply too).
    pub concurrency: usize,
    /// Rounds of re-reading and re-deciding after version conflicts, per action.
    pub max_attempts: u32,
    /// Write the run's first action alone and read it back whole before any other (`canary`).
    pub canary: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            dry_run: false,
            journal: None,
            concurrency: 8,
            max_attempts: 5,
            canary: true,
        }
    }
}

#[derive(Debug)]
pub struct Engine {
    pub(crate) client: Client,
    pub(crate) classifier: Classifier,
    pub(crate) journal: Journal,
    pub(crate) dry_run: AtomicBool,
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) concurrency: usize,
    pub(crate) max_attempts: u32,
    pub(crate) canary: Mutex<CanaryState>,
    /// Set once the run stops writing, with the reason every later change is given.
    pub(crate) halt: Mutex<Option<String>>,
}

impl Engine {
    pub fn new(client: Client, options: EngineOptions) -> Engine {
        Engine {
            classifier: Classifier::new(client.clone()),
            client,
            journal: Journal::new(options.journal),
            dry_run: AtomicBool::new(options.dry_run),
            cancel: Arc::new(AtomicBool::new(false)),
            concurrency: options.concurrency.max(1),
            max_attempts: options.max_attempts.max(1),
            canary: Mutex::new(if options.canary {
                CanaryState::Pending
            } else {
                CanaryState::Off
            }),
            halt: Mutex::new(None),
        }
    }

    /// Switches to another client (new credentials or region). The journal, dry-run switch and
    /// cancel flag stay; the integration cache is dropped with the old org's client.
    pub fn reconnect(&mut self, client: Client) {
        self.classifier = Classifier::new(client.clone());
        self.client = client;
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run.load(Ordering::SeqCst)
    }

    pub fn set_dry_run(&self, on: bool) {
        self.dry_run.store(on, Ordering::SeqCst);
    }

    /// Set it (Ctrl-C) and no new write starts; writes in flight finish.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// One action with config and kind. A normal action costs one request (the `ids=` listing
    /// brings the config); one missing there is read directly and, being hidden without
    /// `includeAuthActions`, is a custom authentication action. A function data action's
    /// function settings are read too, for its `function_timeout`.
    pub async fn fetch_action(&self, id: &str) -> Result<ActionInfo, Error> {
        let query = ActionQuery {
            ids: Some(vec![id.to_string()]),
            include_config: true,
            ..ActionQuery::default()
        };
        let listed = self
            .client
            .list_actions_compact(&query)
            .await?
            .into_iter()
            .find(|a| a.id == id);
        let (action, auth_only) = match listed {
            Some(action) => (action, false),
            None => (self.client.get_action(id, true).await?.into(), true),
        };
        let auth_ids: HashSet<String> = if auth_only {
            [action.id.clone()].into()
        } else {
            HashSet::new()
        };
        let mut info = self
            .classifier
            .classify(vec![action], &auth_ids)
            .await?
            .remove(0);
        if info.kind == Kind::Function {
            info.function_timeout = self.function_timeout(id).await?;
        }
        Ok(info)
    }

    /// Every page of the listing, classified. With `include_auth_actions`, a second listing of
    /// the same filter without auth actions (and without config) tells which ones are custom
    /// authentication actions.
    ///
    /// The integration listing (which kinds need) is read beside the actions' listing, not after
    /// it: it is one request either way, and the run's first requests are all on its critical
    /// path. A filter of no ids lists nothing and reads nothing.
    pub async fn list_actions(&self, query: &ActionQuery) -> Result<Vec<ActionInfo>, Error> {
        let lists_something = query
            .ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| !id.trim().is_empty()));
        let (actions, ()) = tokio::join!(self.client.list_actions_compact(query), async {
            if lists_something {
                self.classifier.prefetch().await;
            }
        });
        let actions = actions?;
        let auth_ids: HashSet<String> = if query.include_auth_actions {
            let plain = ActionQuery {
                include_auth_actions: false,
                include_config: false,
                ..query.clone()
            };
            let visible: HashSet<String> = self
                .client
                .list_actions(&plain)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect();
            actions
                .iter()
                .filter(|a| !visible.contains(&a.id))
                .map(|a| a.id.clone())
                .collect()
        } else {
            HashSet::new()
        };
        self.classifier.classify(actions, &auth_ids).await
    }

    /// The function settings' timeout of a function data action (`None`: unset, meaning 15 s).
    pub async fn function_timeout(&self, id: &str) -> Result<Option<i64>, Error> {
        Ok(self
            .client
            .get_function(id)
            .await?
            .function
            .and_then(|f| f.timeout_seconds))
    }
}
