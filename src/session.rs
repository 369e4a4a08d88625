//! `Session`: the one blocking facade over the async world. It owns the tokio runtime, the
//! client, the change engine and (with `--sandbox`) an in-process sandbox. Rhai and the CLI call
//! only this. (Interface stub: filled in by the change-engine work.)

use std::path::PathBuf;

use url::Url;

use crate::change::{ActionInfo, Change, Timeout, Verification};
use crate::config::Settings;
use crate::genesys::{ActionQuery, Error};
use crate::output::Printer;
use crate::sandbox::SandboxOptions;

pub enum Connection {
    /// Start an in-process sandbox and use its default client.
    Sandbox(SandboxOptions),
    Remote(Settings),
}

pub struct SessionOptions {
    pub dry_run: bool,
    /// Journal file; `None`: the default under the XDG state dir.
    pub journal: Option<PathBuf>,
    pub rate_per_minute: u32,
    pub concurrency: usize,
    pub printer: Printer,
}

#[derive(Debug, Clone)]
pub struct AuthInfo {
    pub region: Option<String>,
    pub api_base: String,
    pub expires_in: u64,
}

/// Decides a new timeout for an action (`None`: leave it). Called again on the fresh action after
/// a version conflict. `Err` is a reason the action is reported as failed.
pub type Decide<'a> = dyn FnMut(&ActionInfo) -> Result<Option<Timeout>, String> + 'a;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SessionError(pub String);

pub struct Session {}

impl Session {
    pub fn connect(_connection: Connection, _options: SessionOptions) -> Result<Session, SessionError> {
        todo!()
    }
    /// Reconnects with other settings (the script's `auth(#{...})`).
    pub fn reconnect(&mut self, _settings: Settings) -> Result<(), SessionError> {
        todo!()
    }
    pub fn sandbox_url(&self) -> Option<&Url> {
        todo!()
    }
    pub fn dry_run(&self) -> bool {
        todo!()
    }
    pub fn set_dry_run(&mut self, _on: bool) {
        todo!()
    }
    pub fn authenticate(&self) -> Result<AuthInfo, Error> {
        todo!()
    }
    pub fn fetch_action(&self, _id: &str) -> Result<ActionInfo, Error> {
        todo!()
    }
    pub fn list_actions(&self, _query: &ActionQuery) -> Result<Vec<ActionInfo>, Error> {
        todo!()
    }
    /// Safe bulk change: concurrent within the rate and concurrency limits, journaled before
    /// every write, re-deciding after version conflicts. Unchanged actions cost no request.
    pub fn update_timeouts(&self, _targets: Vec<ActionInfo>, _decide: &mut Decide<'_>) -> Vec<Change> {
        todo!()
    }
    /// Reads back in batches of 50 (`ids=`) and compares with each change's `after`.
    pub fn verify(&self, _changes: &[Change]) -> Result<Verification, Error> {
        todo!()
    }
    /// The journal of this session, once anything was written.
    pub fn journal_path(&self) -> Option<PathBuf> {
        todo!()
    }
}
