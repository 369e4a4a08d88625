//! The timeout-change domain: validate a timeout, classify actions, plan, apply safely (with the
//! journal written before every write), and verify. Async, on top of `genesys::Client`; knows
//! nothing of Rhai. (Interface stub: filled in by the change-engine work.)

use crate::genesys::models::Action;

/// A checked timeout in whole seconds (see `Timeout::parse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timeout(pub u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct TimeoutError {
    pub message: String,
}

impl Timeout {
    /// From text: `30`, `"30s"`, `"45000ms"`, `"1m"`. Errors name the input and the fix.
    pub fn parse(_text: &str) -> Result<Timeout, TimeoutError> {
        todo!()
    }
    /// From an integer (seconds).
    pub fn from_seconds(_seconds: i64) -> Result<Timeout, TimeoutError> {
        todo!()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Standard,
    Static,
    CustomAuth,
    Function,
}

impl Kind {
    /// `"standard"`, `"static"`, `"custom_auth"`, `"function"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Standard => "standard",
            Kind::Static => "static",
            Kind::CustomAuth => "custom_auth",
            Kind::Function => "function",
        }
    }
}

/// An action with its kind resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionInfo {
    pub action: Action,
    pub kind: Kind,
    /// For function data actions, the function settings' own timeout, when it was read.
    pub function_timeout: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Updated,
    Unchanged,
    Planned,
    Skipped,
    Failed,
}

impl Status {
    /// `"updated"`, `"unchanged"`, `"planned"`, `"skipped"`, `"failed"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Planned => "planned",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// The outcome of one timeout change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: String,
    pub name: Option<String>,
    pub kind: Kind,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub status: Status,
    pub reason: Option<String>,
}

/// The result of reading changes back.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub ok: bool,
    pub checked: usize,
    /// (action id, expected, found)
    pub mismatches: Vec<(String, Option<i64>, Option<i64>)>,
}
