//! Settings: flags + environment + `~/.gc/config.toml` profiles → one checked `Settings` value.
//!
//! Nothing here knows clap: `cli` fills `Inputs` from what was typed.
//!
//! Where each setting comes from, first found wins:
//! - target: `--environment`/`--region`, then env `GENESYSCLOUD_REGION`, then the profile's
//!   `environment`;
//! - credentials: env `GENESYSCLOUD_OAUTHCLIENT_ID` + `GENESYSCLOUD_OAUTHCLIENT_SECRET`, then env
//!   `GENESYSCLOUD_ACCESS_TOKEN`, then the profile (`--profile`, default `DEFAULT`) of the `gc`
//!   CLI's `~/.gc/config.toml`: keys `client_credentials` (the client id) + `client_secret`, or
//!   `access_token`;
//! - tokens in the pool: `--tokens`, then the profile's `token_pool_size` (the `gc` CLI has no such
//!   key; it is the Terraform provider's name for the same setting), then 10 (the provider's
//!   default); a ready-made access token is always one, whatever these say;
//! - requests in flight: `--concurrency`, else 4 per token of the pool (a ready-made token: one),
//!   at least 8 and at most 64.
//!
//! The profile is read only when it is needed (for credentials or a region), so its
//! `token_pool_size` counts only when the profile is in use.
//!
//! The secret is never a flag: it would land in shell history. It lives only in `Secret`.
//! The process environment and the home directory are parameters of [`Settings::resolve_with`], so
//! tests need not touch the real ones.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::genesys::error::{ENV_ACCESS_TOKEN, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REGION};
use crate::genesys::region::{RegionError, region_list};
use crate::genesys::{ClientOptions, Credentials, MAX_TOKENS, RetryPolicy, Target};
use crate::secret::Secret;

pub const DEFAULT_PROFILE: &str = "DEFAULT";
/// Requests per minute per token: Genesys Cloud's default limit.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 300;
/// Tokens in the pool when nothing says otherwise (the Terraform provider's `token_pool_size`
/// default).
pub const DEFAULT_TOKENS: usize = 10;
/// Most requests in flight at once (`--concurrency` allows no more).
pub const MAX_CONCURRENCY: usize = 64;

/// Requests in flight when `--concurrency` is not given: 4 per token, so each token can keep its
/// rate with round trips of up to four spacings (800 ms at 300 a minute), at least 8 (what a
/// single token had before there was a pool), at most 64.
pub fn default_concurrency(tokens: usize) -> usize {
    tokens.saturating_mul(4).clamp(8, MAX_CONCURRENCY)
}
/// How long one request may take before it counts as a transport error.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the user typed that bears on where dactl connects and how fast.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `--environment`/`--region`; falls back to env `GENESYSCLOUD_REGION`.
    pub environment: Option<String>,
    /// `--profile`; default `DEFAULT`.
    pub profile: Option<String>,
    /// Requests per minute per token.
    pub rate_per_minute: u32,
    /// `--tokens`; `None`: the profile's `token_pool_size`, else 10.
    pub tokens: Option<usize>,
    /// `--concurrency`; `None`: derived from the pool ([`default_concurrency`]).
    pub concurrency: Option<usize>,
}

impl Default for Inputs {
    /// No region, profile, pool size or concurrency given; the default rate (300/min per token).
    fn default() -> Self {
        Inputs {
            environment: None,
            profile: None,
            rate_per_minute: DEFAULT_RATE_PER_MINUTE,
            tokens: None,
            concurrency: None,
        }
    }
}

impl Inputs {
    /// The pool size and concurrency these inputs give with `credentials`, when no profile has a
    /// say: what `--tokens` asked for (else 10), and `--concurrency` (else derived from the pool
    /// the credentials allow).
    pub fn pool(&self, credentials: &Credentials) -> (usize, usize) {
        let tokens = self.tokens.unwrap_or(DEFAULT_TOKENS);
        (tokens, self.concurrency_for(tokens, credentials))
    }

    fn concurrency_for(&self, tokens: usize, credentials: &Credentials) -> usize {
        let usable = match credentials {
            Credentials::AccessToken(_) => 1,
            Credentials::ClientCredentials { .. } => tokens,
        };
        self.concurrency
            .unwrap_or_else(|| default_concurrency(usable))
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    pub credentials: Credentials,
    /// Requests per minute per token.
    pub rate_per_minute: u32,
    /// Tokens asked for (1 to 50); a ready-made access token is one whatever this says.
    pub tokens: usize,
    pub concurrency: usize,
    /// Where the credentials came from, for messages (never the secret): the env vars' names,
    /// or the profile and its file. `None`: not known.
    pub credential_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The region given (by `from`) is not one.
    Region {
        from: String,
        error: RegionError,
    },
    /// No region anywhere.
    NoRegion {
        profile_file: PathBuf,
    },
    /// No credentials anywhere.
    NoCredentials {
        profile: String,
        profile_file: PathBuf,
    },
    /// One of the two client-credentials env vars is set, the other not.
    HalfCredentials {
        set: &'static str,
        missing: &'static str,
    },
    /// `--profile NAME` names a profile the file does not have (or there is no file).
    UnknownProfile {
        profile: String,
        profile_file: PathBuf,
        present: Vec<String>,
        file_exists: bool,
    },
    /// The profile exists but holds no usable credentials.
    ProfileWithoutCredentials {
        profile: String,
        profile_file: PathBuf,
        missing: &'static str,
    },
    /// The profile file cannot be read or is not TOML.
    ProfileFile {
        profile_file: PathBuf,
        problem: String,
    },
    Rate {
        value: u32,
    },
    /// A pool size outside 1..=50, from `from` (`--tokens`, or the profile's `token_pool_size`).
    Tokens {
        value: i64,
        from: String,
    },
    Concurrency {
        value: usize,
    },
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Region { from, error } => {
                write!(f, "{error} (The region came from {from}.)")
            }
            ConfigError::NoRegion { profile_file } => write!(
                f,
                "No region given. Use `--region NAME` (alias `--environment`), set {ENV_REGION}, or set \
                 `environment` in the profile in `{}`. Regions: {}.",
                profile_file.display(),
                region_list()
            ),
            ConfigError::NoCredentials {
                profile,
                profile_file,
            } => write!(
                f,
                "No Genesys Cloud credentials found. Set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (an OAuth \
                 client with the client-credentials grant), or {ENV_ACCESS_TOKEN}; or add `client_credentials` \
                 and `client_secret` to the profile `{profile}` in `{}` (choose another profile with \
                 `--profile NAME`). To try dactl without credentials, use `--sandbox`.",
                profile_file.display()
            ),
            ConfigError::HalfCredentials { set, missing } => write!(
                f,
                "{set} is set but {missing} is not; set both (the OAuth client's id and secret), or unset \
                 {set} to use {ENV_ACCESS_TOKEN} or a profile."
            ),
            ConfigError::UnknownProfile {
                profile,
                profile_file,
                present,
                file_exists,
            } => {
                if !file_exists {
                    write!(
                        f,
                        "The profile `{profile}` was asked for, but `{}` does not exist. Create it with a \
                         `[{profile}]` table (keys `environment`, `client_credentials`, `client_secret`), or \
                         use {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}.",
                        profile_file.display()
                    )
                } else if present.is_empty() {
                    write!(
                        f,
                        "`{}` has no profiles; add a `[{profile}]` table.",
                        profile_file.display()
                    )
                } else {
                    let names: Vec<String> = present.iter().map(|p| format!("`{p}`")).collect();
                    write!(
                        f,
                        "`{}` has no profile `{profile}`; it has {}. Pass one of them with `--profile NAME`.",
                        profile_file.display(),
                        names.join(", ")
                    )
                }
            }
            ConfigError::ProfileWithoutCredentials {
                profile,
                profile_file,
                missing,
            } => write!(
                f,
                "The profile `{profile}` in `{}` has no {missing}; add `client_credentials` (the client id) \
                 and `client_secret`, or `access_token`, or set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}.",
                profile_file.display()
            ),
            ConfigError::ProfileFile {
                profile_file,
                problem,
            } => write!(
                f,
                "Could not read the profiles in `{}`: {problem}. Fix the file, or use {ENV_CLIENT_ID} and \
                 {ENV_CLIENT_SECRET} instead.",
                profile_file.display()
            ),
            ConfigError::Rate { value } => write!(
                f,
                "`--rate {value}` is not a rate: give the requests per minute per token, at least 1 \
                 (Genesys Cloud allows 300 per minute per token by default)."
            ),
            ConfigError::Tokens { value, from } => write!(
                f,
                "A pool of {value} tokens (from {from}) is not possible: give 1 to {MAX_TOKENS} \
                 (default {DEFAULT_TOKENS}, as in the Terraform provider's `token_pool_size`)."
            ),
            ConfigError::Concurrency { value } => {
                write!(
                    f,
                    "`--concurrency {value}` is not possible: give the requests in flight at once, at least 1."
                )
            }
        }
    }
}

/// One profile of `~/.gc/config.toml`.
#[derive(Debug, Default)]
struct Profile {
    environment: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    access_token: Option<Secret>,
    /// `token_pool_size`, as written (checked where it is used).
    token_pool_size: Option<i64>,
}

/// `~/.gc/config.toml` under `home` (a placeholder path when there is no home).
pub fn profile_file(home: Option<&Path>) -> PathBuf {
    home.map(|home| home.join(".gc").join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("~/.gc/config.toml"))
}

/// Reads the profile; `Ok(None)` when the file or the profile is absent, with the names present.
fn read_profile(
    path: &Path,
    name: &str,
) -> Result<(Option<Profile>, Vec<String>, bool), ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, Vec::new(), false)),
        Err(e) => {
            return Err(ConfigError::ProfileFile {
                profile_file: path.into(),
                problem: e.to_string(),
            });
        }
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::ProfileFile {
        profile_file: path.into(),
        // The parser's message quotes the offending line, which may hold a secret: keep its first line only.
        problem: e
            .message()
            .lines()
            .next()
            .unwrap_or("not valid TOML")
            .to_string(),
    })?;
    let present: Vec<String> = table
        .iter()
        .filter(|(_, value)| value.is_table())
        .map(|(key, _)| key.clone())
        .collect();
    let found = table
        .get(name)
        .or_else(|| {
            table
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .and_then(toml::Value::as_table);
    let Some(found) = found else {
        return Ok((None, present, true));
    };
    let text = |key: &str| {
        found
            .get(key)
            .and_then(toml::Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let token_pool_size = match found.get("token_pool_size") {
        None => None,
        Some(toml::Value::Integer(n)) => Some(*n),
        Some(_) => {
            return Err(ConfigError::ProfileFile {
                profile_file: path.into(),
                problem: format!(
                    "`token_pool_size` of the profile `{name}` is not a whole number (give 1 to \
                     {MAX_TOKENS}, e.g. `token_pool_size = 10`)"
                ),
            });
        }
    };
    let profile = Profile {
        environment: text("environment"),
        client_id: text("client_credentials"),
        client_secret: text("client_secret").map(Secret::new),
        access_token: text("access_token").map(Secret::new),
        token_pool_size,
    };
    Ok((Some(profile), present, true))
}

impl Settings {
    /// Resolves settings from inputs, the process environment and the `gc` CLI's config file.
    pub fn resolve(inputs: &Inputs) -> Result<Settings, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        Self::resolve_with(inputs, &env, dirs::home_dir().as_deref())
    }

    /// [`Settings::resolve`] with the environment and the home directory given.
    pub fn resolve_with(
        inputs: &Inputs,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Settings, ConfigError> {
        if inputs.rate_per_minute < 1 {
            return Err(ConfigError::Rate {
                value: inputs.rate_per_minute,
            });
        }
        if let Some(value) = inputs.concurrency.filter(|n| *n < 1) {
            return Err(ConfigError::Concurrency { value });
        }
        if let Some(value) = inputs.tokens.filter(|n| !(1..=MAX_TOKENS).contains(n)) {
            return Err(ConfigError::Tokens {
                value: i64::try_from(value).unwrap_or(i64::MAX),
                from: "`--tokens`".into(),
            });
        }
        let env = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let profile_name = inputs
            .profile
            .clone()
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        let profile_file = profile_file(home);
        let explicit_profile = inputs.profile.is_some();

        let credentials_env_source = match (env(ENV_CLIENT_ID), env(ENV_ACCESS_TOKEN)) {
            (Some(_), _) => Some(format!(
                "the environment ({ENV_CLIENT_ID} and {ENV_CLIENT_SECRET})"
            )),
            (None, Some(_)) => Some(format!("the environment ({ENV_ACCESS_TOKEN})")),
            (None, None) => None,
        };
        let env_credentials = match (
            env(ENV_CLIENT_ID),
            env(ENV_CLIENT_SECRET),
            env(ENV_ACCESS_TOKEN),
        ) {
            (Some(client_id), Some(secret), _) => Some(Credentials::ClientCredentials {
                client_id,
                client_secret: Secret::new(secret),
            }),
            (Some(_), None, _) => {
                return Err(ConfigError::HalfCredentials {
                    set: ENV_CLIENT_ID,
                    missing: ENV_CLIENT_SECRET,
                });
            }
            (None, Some(_), _) => {
                return Err(ConfigError::HalfCredentials {
                    set: ENV_CLIENT_SECRET,
                    missing: ENV_CLIENT_ID,
                });
            }
            (None, None, Some(token)) => Some(Credentials::AccessToken(Secret::new(token))),
            (None, None, None) => None,
        };
        let given_region = match (&inputs.environment, env(ENV_REGION)) {
            (Some(region), _) => Some((region.clone(), "`--region`".to_string())),
            (None, Some(region)) => Some((region, ENV_REGION.to_string())),
            (None, None) => None,
        };
        // A region typed on the command line or set in the environment is checked first: when it is
        // wrong, that is the error to fix, whatever else is missing.
        let given_target = match &given_region {
            Some((region, from)) => {
                Some(Target::parse(region).map_err(|error| ConfigError::Region {
                    from: from.clone(),
                    error,
                })?)
            }
            None => None,
        };

        // The profile file is read only when something is still missing, so a broken file does not
        // stand in the way of env credentials with a region; and it matters only where it is used.
        let needed_for_credentials = env_credentials.is_none();
        let profile = if needed_for_credentials || given_region.is_none() {
            let read = match home {
                Some(_) => read_profile(&profile_file, &profile_name),
                None => Ok((None, Vec::new(), false)),
            };
            match read {
                Err(e) if needed_for_credentials || explicit_profile => return Err(e),
                Err(_) => None,
                Ok((None, present, file_exists)) if explicit_profile => {
                    return Err(ConfigError::UnknownProfile {
                        profile: profile_name,
                        profile_file,
                        present,
                        file_exists,
                    });
                }
                Ok((profile, _, _)) => profile,
            }
        } else {
            None
        };

        let credential_source = Some(match (&env_credentials, &credentials_env_source) {
            (Some(_), Some(source)) => source.clone(),
            _ => format!(
                "the profile `{profile_name}` in `{}` (`client_credentials` and `client_secret`, \
                 or `access_token`)",
                profile_file.display()
            ),
        });
        let credentials = match env_credentials {
            Some(credentials) => credentials,
            None => {
                let Some(profile) = &profile else {
                    return Err(ConfigError::NoCredentials {
                        profile: profile_name,
                        profile_file,
                    });
                };
                let without = |missing| ConfigError::ProfileWithoutCredentials {
                    profile: profile_name.clone(),
                    profile_file: profile_file.clone(),
                    missing,
                };
                match (
                    &profile.client_id,
                    &profile.client_secret,
                    &profile.access_token,
                ) {
                    (Some(id), Some(secret), _) => Credentials::ClientCredentials {
                        client_id: id.clone(),
                        client_secret: secret.clone(),
                    },
                    (_, _, Some(token)) => Credentials::AccessToken(token.clone()),
                    (Some(_), None, None) => return Err(without("`client_secret`")),
                    (None, Some(_), None) => {
                        return Err(without("`client_credentials` (the client id)"));
                    }
                    (None, None, None) => return Err(without("credentials")),
                }
            }
        };

        let tokens = match (
            inputs.tokens,
            profile.as_ref().and_then(|p| p.token_pool_size),
        ) {
            (Some(tokens), _) => tokens,
            (None, Some(size)) => usize::try_from(size)
                .ok()
                .filter(|n| (1..=MAX_TOKENS).contains(n))
                .ok_or_else(|| ConfigError::Tokens {
                    value: size,
                    from: format!(
                        "`token_pool_size` of the profile `{profile_name}` in `{}`",
                        profile_file.display()
                    ),
                })?,
            (None, None) => DEFAULT_TOKENS,
        };
        let concurrency = inputs.concurrency_for(tokens, &credentials);

        let profile_environment = profile.and_then(|p| p.environment);
        let target = match (given_target, profile_environment) {
            (Some(target), _) => target,
            (None, Some(region)) => {
                let from = format!(
                    "`environment` of the profile `{profile_name}` in `{}`",
                    profile_file.display()
                );
                Target::parse(&region).map_err(|error| ConfigError::Region { from, error })?
            }
            (None, None) => return Err(ConfigError::NoRegion { profile_file }),
        };

        Ok(Settings {
            target,
            credentials,
            rate_per_minute: inputs.rate_per_minute,
            tokens,
            concurrency,
            credential_source,
        })
    }

    /// A local target (the sandbox) with the given client.
    pub fn local(
        base: &Url,
        client_id: &str,
        client_secret: Secret,
        rate_per_minute: u32,
        tokens: usize,
        concurrency: usize,
    ) -> Settings {
        Settings {
            target: Target::local(base),
            credentials: Credentials::ClientCredentials {
                client_id: client_id.to_string(),
                client_secret,
            },
            rate_per_minute: rate_per_minute.max(1),
            tokens: tokens.clamp(1, MAX_TOKENS),
            concurrency: concurrency.max(1),
            credential_source: None,
        }
    }

    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            target: self.target.clone(),
            credentials: self.credentials.clone(),
            rate_per_minute: self.rate_per_minute,
            tokens: self.tokens,
            concurrency: self.concurrency,
            retry: RetryPolicy::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}
