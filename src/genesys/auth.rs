//! Minting OAuth client-credentials tokens; the pool that holds them is `pool::TokenPool`.
//!
//! - Mint: `POST {login_base}/oauth/token`, `Authorization: Basic base64(id:secret)`, form
//!   `grant_type=client_credentials`.
//! - The token endpoint's own rate limit answers 400 `invalid_request` "rate limit exceeded"; that,
//!   429, 502/503/504 and connection errors are retried with the policy's backoff, up to its
//!   `max_attempts` (a policy of one attempt tries once). Minting twice is harmless, so a mint is
//!   retried even after the request may have arrived.
//! - A token response that cannot be read is reported without quoting it: it holds the token.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;

use crate::genesys::models::{OAuthError, TokenResponse};
use crate::genesys::retry::{Failure, RetryPolicy, Verdict};
use crate::genesys::{Error, Target};
use crate::secret::Secret;

/// Mints one token, retrying as the policy allows.
pub(crate) async fn mint(
    http: &reqwest::Client,
    target: &Target,
    policy: &RetryPolicy,
    timeout: Duration,
    client_id: &str,
    client_secret: &Secret,
) -> Result<TokenResponse, Error> {
    let mut url = target.login_base.clone();
    url.set_path("/oauth/token");
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent_at = Instant::now();
        let result = http
            .post(url.clone())
            .basic_auth(client_id, Some(client_secret.expose()))
            .form(&[("grant_type", "client_credentials")])
            .timeout(timeout)
            .send()
            .await;
        // As `Client::send` does for API requests (the body, which holds the token, is not shown).
        tracing::trace!(
            target: "dactl::wire",
            method = "POST",
            url = %url,
            status = result.as_ref().map_or(0, |r| r.status().as_u16()),
            micros = u64::try_from(sent_at.elapsed().as_micros()).unwrap_or(u64::MAX),
            "answer"
        );
        let (failure, error) = match result {
            Ok(response) => {
                let status = response.status();
                let retry_after = retry_after_header(response.headers());
                let body = match response.bytes().await {
                    Ok(body) => body,
                    Err(e) => {
                        let error = transport_error(&e);
                        wait_or_stop(
                            policy,
                            started,
                            attempts,
                            Failure::Transport { sent: false },
                            error,
                        )
                        .await?;
                        continue;
                    }
                };
                if status.is_success() {
                    return decode(&body);
                }
                let oauth: OAuthError = serde_json::from_slice(&body).unwrap_or_default();
                let error = Error::Auth {
                    status: status.as_u16(),
                    error: oauth.error.clone(),
                    description: if oauth.error_description.is_empty() {
                        oauth.description.clone()
                    } else {
                        oauth.error_description.clone()
                    },
                    region: target.to_string(),
                    // The pool names where the credentials came from.
                    credentials_from: None,
                };
                let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                    || (status == StatusCode::BAD_REQUEST
                        && oauth.error == "invalid_request"
                        && (oauth
                            .description
                            .to_ascii_lowercase()
                            .contains("rate limit")
                            || oauth
                                .error_description
                                .to_ascii_lowercase()
                                .contains("rate limit")));
                if rate_limited {
                    // Counted as an attempt: a token endpoint that keeps refusing must end.
                    let wait = retry_after
                        .unwrap_or_else(|| policy.backoff(attempts).max(Duration::from_secs(1)));
                    if attempts >= policy.max_attempts
                        || wait > policy.max_retry_after
                        || started.elapsed() + wait > policy.max_total
                    {
                        return Err(error);
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
                (Failure::Status(status.as_u16()), error)
            }
            // Repeating a token request is harmless: treat it as never sent.
            Err(e) => (Failure::Transport { sent: false }, transport_error(&e)),
        };
        wait_or_stop(policy, started, attempts, failure, error).await?;
    }
}

/// Sleeps the policy's backoff, or returns `error` when the policy says stop.
async fn wait_or_stop(
    policy: &RetryPolicy,
    started: Instant,
    attempts: u32,
    failure: Failure,
    error: Error,
) -> Result<(), Error> {
    match policy.decide(&reqwest::Method::GET, failure, attempts) {
        Verdict::RetryAfter(wait) if started.elapsed() + wait <= policy.max_total => {
            tokio::time::sleep(wait).await;
            Ok(())
        }
        _ => Err(error),
    }
}

fn decode(body: &[u8]) -> Result<TokenResponse, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
        path: e.path().to_string(),
        // The message of a failed token decode never quotes the body, which holds the token.
        message: "the token response is not `{access_token, token_type, expires_in}`".into(),
    })
}

/// `Retry-After` in whole seconds.
pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    // Clamped so an absurd value becomes "too long" rather than an overflow.
    let seconds = value.trim().parse::<f64>().ok().filter(|s| *s >= 0.0)?;
    Some(Duration::from_secs_f64(seconds.min(1e9)))
}

/// A reqwest error as `Error::Transport`, with its causes (never a header: no token or secret).
pub(crate) fn transport_error(error: &reqwest::Error) -> Error {
    let mut message = error.to_string();
    if let Some(url) = error.url().filter(|url| url.query().is_some()) {
        // A listing by ids carries up to 50 of them: the path says enough.
        let mut short = url.clone();
        short.set_query(None);
        message = message.replace(url.as_str(), &format!("{short}?…"));
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    Error::Transport {
        message,
        timed_out: error.is_timeout(),
        connect: error.is_connect(),
    }
}
