//! Settings: flags + environment + `~/.gc/config.toml` profiles → one checked `Settings` value.
//!
//! Nothing here knows clap: `cli` fills `Inputs` from what was typed.

use crate::genesys::{ClientOptions, Credentials, Target};

/// What the user typed that bears on where dactl connects and how fast.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `--environment`/`--region`; falls back to env `GENESYSCLOUD_REGION`.
    pub environment: Option<String>,
    /// `--profile`; default `DEFAULT`.
    pub profile: Option<String>,
    pub rate_per_minute: u32,
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub credentials: Credentials,
    pub rate_per_minute: u32,
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("TODO")]
pub struct ConfigError {}

impl Settings {
    /// Resolves settings from inputs, the process environment and the `gc` CLI's config file.
    pub fn resolve(_inputs: &Inputs) -> Result<Settings, ConfigError> {
        todo!()
    }

    pub fn client_options(&self) -> ClientOptions {
        todo!()
    }
}
