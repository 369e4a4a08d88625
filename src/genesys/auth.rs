//! `TokenCache`: OAuth client-credentials tokens, minted once and shared.
//!
//! - Mint: `POST {login_base}/oauth/token`, `Authorization: Basic base64(id:secret)`, form
//!   `grant_type=client_credentials`.
//! - Cache: one token for every request of the client. It is replaced shortly before it expires:
//!   `min(60 s, lifetime / 4)` early, so a day-long token is renewed a minute ahead and a 2-second
//!   test token half a second ahead. The cache sits behind a tokio `Mutex` held across the mint, so
//!   concurrent requests that find it stale wait for one mint instead of each minting (no stampede).
//! - After a 401 from the API the caller drops the token it used ([`TokenCache::invalidate`]), which
//!   only clears the cache if it still holds that same token: when fifty requests see the same
//!   expired token, one new token is minted, not fifty.
//! - The token endpoint's own rate limit answers 400 `invalid_request` "rate limit exceeded"; that,
//!   429, 502/503/504 and connection errors are retried with the client's backoff. Minting twice
//!   is harmless, so a mint is retried even after the request may have arrived.
//! - `Credentials::AccessToken` is used as given and never minted; a 401 with it is final.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::genesys::client::Credentials;
use crate::genesys::models::{OAuthError, TokenResponse};
use crate::genesys::retry::{Failure, RetryPolicy, Verdict};
use crate::genesys::{Error, Target};
use crate::secret::Secret;

struct Token {
    value: Secret,
    /// When to mint the next one (a little before the server's expiry).
    refresh_at: Instant,
    expires_at: Instant,
}

pub struct TokenCache {
    credentials: Credentials,
    cached: Mutex<Option<Token>>,
    minted: AtomicU64,
}

/// A token and how long it is still good for (`None` when unknown: a ready-made access token).
pub struct Lease {
    pub token: Secret,
    pub remaining: Option<Duration>,
}

impl TokenCache {
    pub fn new(credentials: Credentials) -> TokenCache {
        TokenCache {
            credentials,
            cached: Mutex::new(None),
            minted: AtomicU64::new(0),
        }
    }

    /// Tokens minted so far.
    pub fn minted(&self) -> u64 {
        self.minted.load(Ordering::Relaxed)
    }

    /// Whether a new token can be minted (client credentials, not a ready-made token).
    pub fn can_mint(&self) -> bool {
        matches!(self.credentials, Credentials::ClientCredentials { .. })
    }

    /// The current token, minting one first when there is none or it is about to expire.
    pub async fn lease(
        &self,
        http: &reqwest::Client,
        target: &Target,
        policy: &RetryPolicy,
        timeout: Duration,
    ) -> Result<Lease, Error> {
        let (client_id, client_secret) = match &self.credentials {
            Credentials::AccessToken(token) => {
                return Ok(Lease {
                    token: token.clone(),
                    remaining: None,
                });
            }
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        if let Some(token) = cached.as_ref().filter(|token| now < token.refresh_at) {
            return Ok(Lease {
                token: token.value.clone(),
                remaining: Some(token.expires_at - now),
            });
        }
        // `sent` is taken before the request so the cached expiry errs on the early side.
        let sent = Instant::now();
        let response = mint(http, target, policy, timeout, client_id, client_secret).await?;
        self.minted.fetch_add(1, Ordering::Relaxed);
        let lifetime = Duration::from_secs(response.expires_in);
        let early = (lifetime / 4).min(Duration::from_secs(60));
        let token = Token {
            value: Secret::new(response.access_token),
            refresh_at: sent + lifetime - early,
            expires_at: sent + lifetime,
        };
        let lease = Lease {
            token: token.value.clone(),
            remaining: Some(lifetime),
        };
        *cached = Some(token);
        Ok(lease)
    }

    /// Forgets `failed` (a token the API answered 401 to), unless a newer one replaced it already.
    pub async fn invalidate(&self, failed: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|token| token.value == *failed) {
            *cached = None;
        }
    }
}

async fn mint(
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
        let result = http
            .post(url.clone())
            .basic_auth(client_id, Some(client_secret.expose()))
            .form(&[("grant_type", "client_credentials")])
            .timeout(timeout)
            .send()
            .await;
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
