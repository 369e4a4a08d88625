//! `Error`: everything a call to Genesys Cloud can end in.
//!
//! Every message is a sentence or two that says what went wrong, which action it was about and the
//! correlation id when known (Genesys support asks for it), and how to fix it. None carries a
//! secret or a token: the fields hold only what the server said and what the user typed.

use std::time::Duration;

/// Env vars that hold client credentials, named in messages about them.
pub const ENV_CLIENT_ID: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
pub const ENV_REGION: &str = "GENESYSCLOUD_REGION";
pub const ENV_ACCESS_TOKEN: &str = "GENESYSCLOUD_ACCESS_TOKEN";

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The API answered with a non-2xx status and an `ErrorBody`.
    #[error("{}", api_message(*status, code, message, correlation_id.as_deref(), action_id.as_deref()))]
    Api {
        status: u16,
        code: String,
        message: String,
        correlation_id: Option<String>,
        /// The action the call was about, when there was one.
        action_id: Option<String>,
    },
    /// The token endpoint refused the client credentials.
    #[error("{}", auth_message(*status, error, description, region, credentials_from.as_deref()))]
    Auth {
        status: u16,
        error: String,
        description: String,
        /// The target the token was asked of, e.g. `eu-west-1 (api.mypurecloud.ie)`.
        region: String,
        /// Where the client id and secret came from (never the secret), when known: e.g.
        /// `GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET`.
        credentials_from: Option<String>,
    },
    /// A 429 asked us to wait longer than the retry policy allows.
    #[error(
        "Genesys Cloud is rate limiting this client and asked to wait {} s, more than the {} s dactl \
         waits at most{}. Nothing more was sent; try again later, or lower `--rate` so the limit is \
         not reached.",
        retry_after.as_secs(),
        max_retry_after.as_secs(),
        correlation(correlation_id.as_deref())
    )]
    RetryAfterTooLong {
        retry_after: Duration,
        correlation_id: Option<String>,
        /// The policy's limit (`RetryPolicy::max_retry_after`).
        max_retry_after: Duration,
    },
    /// Connection refused, reset or dropped; request timed out. `connect`: the connection was
    /// never made (refused, or the host name did not resolve), so the request was never sent.
    #[error(
        "{} {message}. Check the network connection and the region (`--region`); retrying later \
         may help.{}",
        if *timed_out { "The request to Genesys Cloud timed out:" } else { "Could not reach Genesys Cloud:" },
        if *timed_out { " A slow service may need a longer `--request-timeout SECS` (default 30)." } else { "" }
    )]
    Transport {
        message: String,
        timed_out: bool,
        connect: bool,
    },
    /// A listing kept shifting while its pages were read, in every pass (see
    /// `Client::list_pages`): acting on it could skip actions or take one twice.
    #[error(
        "The listing {path} kept changing while dactl read it ({passes} tries; the last saw {} \
         listed twice{}), so it may have missed up to {} of them. Entities moving in the sort \
         order between pages (another admin renaming, creating or deleting actions) do this. \
         dactl did not act on the listing; run again once the edits are done.",
        plural(*twice, "entity", "entities"),
        total.map(|t| format!(" and {seen} where the platform said {t}")).unwrap_or_default(),
        missed(*seen, *twice, *total)
    )]
    ListingUnsettled {
        /// e.g. `/api/v2/integrations/actions`
        path: String,
        passes: usize,
        /// Distinct entities the last pass saw.
        seen: usize,
        /// Entities the last pass saw a second time.
        twice: usize,
        /// The `total` the last pass's first page gave, when the listing gives one.
        total: Option<u64>,
    },
    /// A 2xx body that did not match the model; `path` is the JSON path.
    #[error(
        "Genesys Cloud sent a response dactl could not read: at JSON path `{path}`: {message}. This is \
         a bug in dactl or a change in the API; please report it with this message."
    )]
    Decode { path: String, message: String },
}

impl Error {
    /// HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Auth { status, .. } => Some(*status),
            Error::RetryAfterTooLong { .. } => Some(429),
            Error::Transport { .. } | Error::Decode { .. } | Error::ListingUnsettled { .. } => None,
        }
    }

    /// A 409, or a 400 saying the version does not match the current version.
    pub fn is_version_conflict(&self) -> bool {
        match self {
            Error::Api { status: 409, .. } => true,
            Error::Api {
                status: 400,
                message,
                ..
            } => message.contains("does not match the current version"),
            _ => false,
        }
    }

    /// Worth trying again later: 429, 502/503/504, a connection error, or a version conflict.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status(), Some(429 | 502 | 503 | 504))
            || matches!(self, Error::Transport { .. })
            || self.is_version_conflict()
    }

    /// The token endpoint refused the client credentials themselves: `invalid_client` or
    /// `unauthorized_client` (whatever the status: the platform may answer 400 or 401), or a
    /// 401. Asking again with the same id and secret gets the same answer, so it repeats for
    /// every request of the run. The endpoint's own rate limit (400 `invalid_request` "rate
    /// limit exceeded") is not a refusal: it passes.
    pub fn is_credentials_refused(&self) -> bool {
        match self {
            Error::Auth { status, error, .. } => {
                matches!(error.as_str(), "invalid_client" | "unauthorized_client")
                    || (*status == 401 && error != "invalid_request")
            }
            _ => false,
        }
    }

    /// The correlation id (`ININ-Correlation-Id`) of the response, when there was one.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Error::Api { correlation_id, .. } | Error::RetryAfterTooLong { correlation_id, .. } => {
                correlation_id.as_deref()
            }
            _ => None,
        }
    }

    /// The action the failed call was about.
    pub fn action_id(&self) -> Option<&str> {
        match self {
            Error::Api { action_id, .. } => action_id.as_deref(),
            _ => None,
        }
    }
}

fn correlation(id: Option<&str>) -> String {
    id.map(|id| format!(" (correlation id `{id}`)"))
        .unwrap_or_default()
}

/// Permission names (`domain:entity:action`) mentioned in a 403 message.
pub fn permissions_in(message: &str) -> Vec<String> {
    let mut found: Vec<String> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '*'))
        .map(|word| word.trim_matches(':'))
        .filter(|word| {
            let parts: Vec<&str> = word.split(':').collect();
            parts.len() == 3 && parts.iter().all(|p| !p.is_empty())
        })
        .map(str::to_string)
        .collect();
    found.dedup();
    found
}

fn api_message(
    status: u16,
    code: &str,
    message: &str,
    correlation_id: Option<&str>,
    action_id: Option<&str>,
) -> String {
    let about = action_id
        .map(|id| format!(" for action `{id}`"))
        .unwrap_or_default();
    let code = if code.is_empty() {
        String::new()
    } else {
        format!(" `{code}`")
    };
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": {}", message.trim_end_matches('.'))
    };
    let fix = api_fix(status, message, action_id);
    format!(
        "Genesys Cloud answered {status}{code}{about}{said}. {fix}{}",
        correlation(correlation_id)
    )
}

/// How to fix an API error of this status (and server message), as a sentence: the second half
/// of every `Error::Api` message, and what scripts read after the server's own words.
pub fn api_fix(status: u16, message: &str, action_id: Option<&str>) -> String {
    match status {
        401 => "The access token was refused (missing, invalid or expired). Check that the client id and \
                secret belong to this region (`--region`), or, with `GENESYSCLOUD_ACCESS_TOKEN`, mint a \
                fresh token or use client credentials instead."
            .to_string(),
        403 => {
            let permissions = permissions_in(message);
            let what = match permissions.as_slice() {
                [] => "the permission this call needs (`integrations:action:view` to read, \
                       `integrations:action:edit` to change)"
                    .to_string(),
                [one] => format!("the permission `{one}`"),
                many => format!(
                    "one of the permissions {}",
                    many.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            format!(
                "The OAuth client's role lacks {what}; add it to the role in Admin > Roles / Permissions \
                 and assign the role to the OAuth client."
            )
        }
        404 => match action_id {
            Some(id) => format!(
                "No action with id `{id}` exists in this org and region; check the id (list actions to \
                 see the ids) and `--region`."
            ),
            None => "The resource does not exist in this org and region; check the id and `--region`.".into(),
        },
        409 => "Someone changed it meanwhile (version conflict); read it again and retry the change.".into(),
        400 if message.contains("does not match the current version") => {
            "Someone changed it meanwhile (version conflict); read it again and retry the change.".into()
        }
        400 => "Genesys Cloud rejected the request as invalid; check the values sent (an action's \
                `timeoutSeconds` is whole seconds, 1 to 60; a function's, 1 to 15)."
            .into(),
        429 => "Genesys Cloud is rate limiting this client; lower `--rate` or try again later.".into(),
        500..=599 => "Genesys Cloud had a server error and retries did not help; try again later.".into(),
        _ => "See the message above for details.".into(),
    }
}

/// What stopped a run whose credentials were refused, for the reason of every action it left
/// `not_attempted`: the status and error, and where the credentials came from (never the secret).
pub fn login_refused(error: &Error) -> String {
    match error {
        Error::Auth {
            status,
            error: code,
            credentials_from,
            ..
        } => {
            let from = credentials_from
                .as_deref()
                .map(|source| format!(", taken from {source}"))
                .unwrap_or_default();
            format!(
                "the login host refused the OAuth client's credentials{from}: {status} `{code}`"
            )
        }
        _ => "the login host refused the OAuth client's credentials".into(),
    }
}

fn auth_message(
    status: u16,
    error: &str,
    description: &str,
    region: &str,
    source: Option<&str>,
) -> String {
    let said = match (error.is_empty(), description.is_empty()) {
        (false, false) => format!("`{error}`: {description}"),
        (false, true) => format!("`{error}`"),
        (true, false) => description.to_string(),
        (true, true) => "no reason given".to_string(),
    };
    if error == "invalid_request" && description.to_ascii_lowercase().contains("rate limit") {
        format!(
            "The token endpoint of region {region} kept refusing with its own rate limit ({status} {said}). \
             Too many tokens were asked for with this OAuth client (several dactl runs at once?); wait a \
             minute and try again."
        )
    } else if let Some(source) = source.filter(|_| {
        matches!(error, "invalid_client" | "unauthorized_client") || matches!(status, 401 | 403)
    }) {
        format!(
            "The token request was refused ({status} {said}): region {region} does not accept this \
             OAuth client's id and secret (wrong, or the client was deleted, disabled or had its \
             secret changed). They came from {source}; check them, and that the OAuth client exists \
             in this region (`--region` or {ENV_REGION})."
        )
    } else if matches!(error, "invalid_client" | "unauthorized_client")
        || matches!(status, 401 | 403)
    {
        format!(
            "The token request was refused ({status} {said}): the client id or secret is wrong for \
             region {region}. Check {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (or the profile's \
             `client_credentials` and `client_secret` in ~/.gc/config.toml), and that the OAuth client \
             exists in this region (`--region` or {ENV_REGION})."
        )
    } else {
        format!(
            "The token request to region {region} failed ({status} {said}). Check that the OAuth client \
             uses the client-credentials grant, and the client id, secret and region; try again later \
             if this persists."
        )
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How many a shifting listing may have missed: one per entity seen twice (each shift across a
/// page boundary shows one twice and hides another), or the shortfall against the total.
fn missed(seen: usize, twice: usize, total: Option<u64>) -> u64 {
    let short = total.map_or(0, |t| t.saturating_sub(seen as u64));
    short.max(twice as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, message: &str) -> Error {
        Error::Api {
            status,
            code: code.into(),
            message: message.into(),
            correlation_id: Some("c0ffee".into()),
            action_id: Some("act-1".into()),
        }
    }

    #[test]
    fn forbidden_names_the_missing_permission_action_and_correlation() {
        let text = api(
            403,
            "missing.any.permissions",
            "Unable to perform the requested action. You must have at least one of the following \
             permissions assigned: [integrations:action:edit]",
        )
        .to_string();
        for part in [
            "403",
            "`act-1`",
            "`integrations:action:edit`",
            "role",
            "`c0ffee`",
        ] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
    }

    #[test]
    fn forbidden_without_permission_names_the_usual_ones() {
        let text = api(403, "not.authorized", "Not authorized").to_string();
        assert!(text.contains("integrations:action:edit"), "{text}");
    }

    #[test]
    fn permissions_are_found_in_messages() {
        assert_eq!(
            permissions_in("needs [integrations:action:edit, integrations:actionFunction:view]."),
            vec![
                "integrations:action:edit",
                "integrations:actionFunction:view"
            ]
        );
        assert!(permissions_in("Rate limit: 300 at 12:00:01").len() <= 1);
        assert!(permissions_in("nothing here").is_empty());
    }

    #[test]
    fn unauthorized_says_to_check_credentials_and_region() {
        let text = api(401, "bad.credentials", "Invalid login credentials.").to_string();
        assert!(text.contains("client id and secret"), "{text}");
        assert!(text.contains("--region"), "{text}");
    }

    #[test]
    fn not_found_names_the_action() {
        let text = api(404, "not.found", "").to_string();
        assert!(text.contains("No action with id `act-1`"), "{text}");
        assert!(text.contains("`c0ffee`"), "{text}");
    }

    #[test]
    fn invalid_client_names_region_and_env_vars() {
        let text = Error::Auth {
            status: 400,
            error: "invalid_client".into(),
            description: "authentication failed".into(),
            region: "eu-west-1 (api.mypurecloud.ie)".into(),
            credentials_from: None,
        }
        .to_string();
        for part in [
            "client id or secret is wrong",
            "eu-west-1",
            ENV_CLIENT_ID,
            ENV_CLIENT_SECRET,
        ] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
    }

    fn token_error(status: u16, error: &str, description: &str) -> Error {
        Error::Auth {
            status,
            error: error.into(),
            description: description.into(),
            region: "eu-west-1 (api.mypurecloud.ie)".into(),
            credentials_from: Some(format!("{ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}")),
        }
    }

    #[test]
    fn refused_credentials_are_told_from_the_token_endpoints_rate_limit() {
        for (status, error) in [
            (400, "invalid_client"),
            (401, "invalid_client"),
            (400, "unauthorized_client"),
            (401, ""),
        ] {
            let refused = token_error(status, error, "authentication failed");
            assert!(refused.is_credentials_refused(), "{status} {error}");
            let text = refused.to_string();
            assert!(text.contains(ENV_CLIENT_SECRET), "names the source: {text}");
        }
        let limited = token_error(
            400,
            "invalid_request",
            "rate limit exceeded; retry in 5 seconds",
        );
        assert!(!limited.is_credentials_refused());
        assert!(limited.to_string().contains("rate limit"));
        assert!(!api(401, "bad.credentials", "").is_credentials_refused());
    }

    #[test]
    fn retry_after_too_long_says_how_long_and_the_limit() {
        let text = Error::RetryAfterTooLong {
            retry_after: Duration::from_secs(600),
            correlation_id: Some("abc".into()),
            max_retry_after: Duration::from_secs(180),
        }
        .to_string();
        for part in ["600 s", "180 s", "try again later", "`abc`"] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
    }

    #[test]
    fn version_conflicts_are_recognised() {
        assert!(api(409, "conflict", "").is_version_conflict());
        assert!(
            api(
                400,
                "bad.request",
                "Version 3 does not match the current version 4"
            )
            .is_version_conflict()
        );
        assert!(!api(400, "invalid.value", "timeoutSeconds").is_version_conflict());
        assert!(api(503, "", "").is_retryable());
        assert!(!api(404, "", "").is_retryable());
    }
}
