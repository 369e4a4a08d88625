//! `Error`: everything a call to Genesys Cloud can end in.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with a non-2xx status and an `ErrorBody`.
    #[error("TODO")]
    Api {
        status: u16,
        code: String,
        message: String,
        correlation_id: Option<String>,
        /// The action the call was about, when there was one.
        action_id: Option<String>,
    },
    /// The token endpoint refused the client credentials.
    #[error("TODO")]
    Auth { status: u16, error: String, description: String },
    /// A 429 asked us to wait longer than the retry policy allows.
    #[error("TODO")]
    RetryAfterTooLong { retry_after: Duration, correlation_id: Option<String> },
    /// Connection refused, reset or dropped; request timed out.
    #[error("TODO")]
    Transport { message: String, timed_out: bool },
    /// A 2xx body that did not match the model; `path` is the JSON path.
    #[error("TODO")]
    Decode { path: String, message: String },
}

impl Error {
    /// HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Auth { status, .. } => Some(*status),
            Error::RetryAfterTooLong { .. } => Some(429),
            Error::Transport { .. } | Error::Decode { .. } => None,
        }
    }

    /// A 409, or a 400 saying the version does not match the current version.
    pub fn is_version_conflict(&self) -> bool {
        match self {
            Error::Api { status: 409, .. } => true,
            Error::Api { status: 400, message, .. } => message.contains("does not match the current version"),
            _ => false,
        }
    }

    /// Worth trying again later: 429, 502/503/504, a connection error, or a version conflict.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status(), Some(429 | 502 | 503 | 504))
            || matches!(self, Error::Transport { .. })
            || self.is_version_conflict()
    }
}
