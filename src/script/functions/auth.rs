//! `auth` and `dry_run`: the connection.

use rhai::plugin::*;

use crate::config::Settings;
use crate::genesys::{Credentials, Target};
use crate::script::convert;
use crate::script::errors::{api, throw};
use crate::script::state;
use crate::secret::Secret;

#[export_module]
pub mod auth_functions {
    use rhai::{EvalAltResult, Map, NativeCallContext};

    /// Authenticates now and returns `#{region, api_base, expires_in}` (never the token).
    /// Other functions authenticate on first use, so calling `auth()` is optional: it tells early
    /// whether the credentials work.
    ///
    /// Example: `let a = auth(); print(a.api_base);`
    #[rhai_fn(name = "auth", return_raw)]
    pub fn auth_now(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let state = state::of(&ctx)?;
        let info = state.session()?.authenticate().or_else(|e| api(&e))?;
        Ok(convert::auth_info(&info).cast::<Map>())
    }

    /// Connects with other settings and authenticates. Returns `#{region, api_base, expires_in}`.
    /// Options (all optional): `region` (region name, domain or local URL), `profile` (a profile
    /// in `~/.gc/config.toml`), `client_id` and `client_secret` (both or neither).
    ///
    /// Example: `auth(#{region: "eu-west-1", profile: "prod"});`
    #[rhai_fn(name = "auth", return_raw)]
    pub fn auth_with(ctx: NativeCallContext, options: Map) -> Result<Map, Box<EvalAltResult>> {
        let state = state::of(&ctx)?;
        convert::check_keys(
            "auth",
            &options,
            &["region", "profile", "client_id", "client_secret"],
        )?;
        let mut inputs = state
            .inputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(region) = convert::opt_string("auth", &options, "region")? {
            inputs.environment = Some(region);
        }
        if let Some(profile) = convert::opt_string("auth", &options, "profile")? {
            inputs.profile = Some(profile);
        }
        let client_id = convert::opt_string("auth", &options, "client_id")?;
        let client_secret = convert::opt_string("auth", &options, "client_secret")?;
        let settings = match (client_id, client_secret) {
            (Some(_), None) | (None, Some(_)) => {
                return throw(
                    "invalid.argument",
                    "`auth` needs both `client_id` and `client_secret`, or neither (then they come from the profile or environment).",
                );
            }
            // Credentials given here: only the target is needed, so a missing profile or
            // environment is no error. Without a region, stay where the session is.
            (Some(client_id), Some(secret)) => {
                let target = match &inputs.environment {
                    Some(region) => Target::parse(region),
                    None => {
                        let here = state.session()?.authenticate().or_else(|e| api(&e))?;
                        Target::parse(here.region.as_deref().unwrap_or(&here.api_base))
                    }
                }
                .or_else(|e| throw("invalid.settings", e.to_string()))?;
                let credentials = Credentials::ClientCredentials {
                    client_id,
                    client_secret: Secret::new(secret),
                };
                let (tokens, concurrency) = inputs.pool(&credentials);
                Settings {
                    target,
                    credentials,
                    rate_per_minute: inputs.rate_per_minute,
                    tokens,
                    concurrency,
                    credential_source: Some(
                        "the `client_id` and `client_secret` given to `auth(#{...})` in the script"
                            .into(),
                    ),
                }
            }
            (None, None) => {
                Settings::resolve(&inputs).or_else(|e| throw("invalid.settings", e.to_string()))?
            }
        };
        {
            let Ok(mut guard) = state.session.try_write() else {
                return throw(
                    "invalid.call",
                    "`auth(#{...})` cannot run while another host function is running (e.g. inside an `update_timeouts` closure).",
                );
            };
            let Some(session) = guard.as_mut() else {
                return throw(
                    "no.session",
                    "This host has no connection to Genesys Cloud (it only checks scripts).",
                );
            };
            session
                .reconnect(settings)
                .or_else(|e| throw("connect", e.0))?;
        }
        state.seen.lock().unwrap_or_else(|e| e.into_inner()).clear();
        *state.inputs.lock().unwrap_or_else(|e| e.into_inner()) = inputs;
        auth_now(ctx)
    }

    /// `true` when changes are only planned, not written. Set by `--dry-run` (or `:dry-run on`
    /// in the REPL); changes then come back with status `"planned"`.
    ///
    /// Example: `if dry_run() { print("dry run: nothing will change"); }`
    #[rhai_fn(return_raw)]
    pub fn dry_run(ctx: NativeCallContext) -> Result<bool, Box<EvalAltResult>> {
        Ok(state::of(&ctx)?.session()?.dry_run())
    }
}
