//! `Client`: the one send path, and the endpoints built on it.
//!
//! Cheap to clone (an `Arc` inside): every clone shares the token pool (each token with its rate
//! limit and 429 pause) and the concurrency limit of the process.
//!
//! Every API call goes through [`Client::send`]: path built from the target's base URL (each
//! segment percent-encoded, since ids come from users), a place among the requests in flight
//! (the concurrency limit), a token from the pool with a free rate slot, a JSON body, the retry
//! policy, and error bodies parsed into `Error::Api` with the correlation id. The endpoints live
//! in `actions` and `integrations`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

use crate::genesys::auth::{retry_after_header, transport_error};
use crate::genesys::models::ErrorBody;
use crate::genesys::pool::TokenPool;
use crate::genesys::retry::{Failure, Verdict};
use crate::genesys::{Error, Target};
use crate::secret::Secret;

pub use crate::genesys::retry::RetryPolicy;

#[derive(Debug, Clone)]
pub enum Credentials {
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    AccessToken(Secret),
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub target: Target,
    pub credentials: Credentials,
    /// Requests per minute per token.
    pub rate_per_minute: u32,
    /// Tokens in the pool at most (1 to 50; more is taken as 50), minted as the work needs them.
    /// A ready-made access token is a pool of one whatever this says.
    pub tokens: usize,
    /// Requests in flight at once, over all tokens.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl ClientOptions {
    /// The tokens the pool may hold: `tokens` within 1..=50, or 1 for a ready-made access token.
    pub fn pool_size(&self) -> usize {
        match self.credentials {
            Credentials::AccessToken(_) => 1,
            Credentials::ClientCredentials { .. } => {
                self.tokens.clamp(1, crate::genesys::MAX_TOKENS)
            }
        }
    }
}

/// Filters for `GET /api/v2/integrations/actions`; every page is fetched (pageSize 100).
///
/// A filter that is `None` is not sent: no filter. `ids: Some(list)` means exactly those
/// actions, so an empty list means none (and costs no request), never the whole org: a caller
/// that worked out "these ids" and found none must not widen that to every action.
#[derive(Debug, Clone, Default)]
pub struct ActionQuery {
    pub category: Option<String>,
    pub name: Option<String>,
    pub ids: Option<Vec<String>>,
    pub secure: Option<bool>,
    pub include_auth_actions: bool,
    pub include_config: bool,
}

#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    options: ClientOptions,
    pool: TokenPool,
    in_flight: Semaphore,
    requests_sent: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("target", &self.inner.options.target)
            .field("rate_per_minute", &self.inner.options.rate_per_minute)
            .field("tokens", &self.inner.options.tokens)
            .field("concurrency", &self.inner.options.concurrency)
            .finish_non_exhaustive()
    }
}

/// One API request, before it is sent.
pub(crate) struct Call<'a> {
    pub method: Method,
    /// Path segments after the base URL, each encoded on its own.
    pub path: Vec<&'a str>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    /// The action the call is about: named in its errors.
    pub action_id: Option<&'a str>,
    /// The `Accept` header: JSON unless the operation produces something else (template text).
    pub accept: &'static str,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: Vec<&'a str>) -> Call<'a> {
        Call {
            method,
            path,
            query: Vec::new(),
            body: None,
            action_id: None,
            accept: "application/json",
        }
    }

    pub fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub fn json(mut self, body: &impl Serialize) -> Result<Self, Error> {
        let value = serde_json::to_value(body).map_err(|e| Error::Decode {
            path: ".".into(),
            message: format!("could not encode the request: {e}"),
        })?;
        self.body = Some(value);
        Ok(self)
    }

    pub fn action(mut self, id: &'a str) -> Self {
        self.action_id = Some(id);
        self
    }

    pub fn accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }
}

/// A 2xx answer.
pub(crate) struct Answer {
    pub body: Vec<u8>,
    /// The answer's content type says JSON.
    pub json: bool,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("dactl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| transport_error(&e))?;
        Ok(Client {
            inner: Arc::new(Inner {
                pool: TokenPool::new(&options, http.clone()),
                in_flight: Semaphore::new(options.concurrency.max(1)),
                http,
                requests_sent: AtomicU64::new(0),
                options,
            }),
        })
    }

    pub fn target(&self) -> &Target {
        &self.inner.options.target
    }

    /// Names where the client id and secret came from, for the message when the token endpoint
    /// refuses them (see `TokenPool::set_credential_source`).
    pub fn set_credential_source(&self, source: impl Into<String>) {
        self.inner.pool.set_credential_source(source.into());
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Mints a token now (or reuses one of the pool's); returns its remaining lifetime
    /// (`Duration::ZERO` for a ready-made access token, whose lifetime dactl cannot know).
    pub async fn authenticate(&self) -> Result<Duration, Error> {
        let lease = self.inner.pool.any().await?;
        Ok(lease.remaining.unwrap_or(Duration::ZERO))
    }

    /// Tokens minted by this client (and its clones) so far, renewals included.
    pub fn tokens_minted(&self) -> u64 {
        self.inner.pool.minted()
    }

    /// API requests sent so far, retries included (token requests not counted).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests_sent.load(Ordering::Relaxed)
    }

    fn url(&self, call: &Call<'_>) -> Result<Url, Error> {
        let mut path = String::new();
        for segment in &call.path {
            // `.` and `..` cannot travel as a path segment: URL parsers (ours and the server's)
            // resolve them. No action has such an id, so the answer is a local "not found".
            if segment.is_empty() || segment.chars().all(|c| c == '.') {
                return Err(Error::Api {
                    status: 404,
                    code: "not.found".into(),
                    message: format!("dactl sent nothing: `{segment}` cannot be an id"),
                    correlation_id: None,
                    action_id: call.action_id.map(str::to_string),
                });
            }
            path.push('/');
            path.push_str(&encode_segment(segment));
        }
        let mut url = self.inner.options.target.api_base.clone();
        url.set_path(&path);
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &call.query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// Sends a call and decodes its JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        let action_id = call.action_id.map(str::to_string);
        let answer = self.send(call).await?;
        let mut deserializer = serde_json::Deserializer::from_slice(&answer.body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
            path: e.path().to_string(),
            message: match action_id {
                Some(id) => format!("{} (action `{id}`)", e.inner()),
                None => e.inner().to_string(),
            },
        })
    }

    /// Sends a call and returns its answer as text: a JSON string is unquoted, anything else is
    /// taken as it came (templates are served either way).
    pub(crate) async fn send_text(&self, call: Call<'_>) -> Result<String, Error> {
        let answer = self.send(call).await?;
        if answer.json
            && let Ok(text) = serde_json::from_slice::<String>(&answer.body)
        {
            return Ok(text);
        }
        Ok(String::from_utf8_lossy(&answer.body).into_owned())
    }

    /// The one send path: concurrency limit, a token with a free rate slot, request, retry
    /// policy, error parsing.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Answer, Error> {
        let inner = &*self.inner;
        let policy = &inner.options.retry;
        let url = self.url(&call)?;
        let started = Instant::now();
        let mut attempts: u32 = 0;
        let mut reminted = false;
        // The slot to repeat on after a 401 (its token is renewed first); otherwise any.
        let mut repeat_on = None;
        loop {
            // Held while the request is in flight, released before any backoff, so a sleeping
            // retry does not hold others up.
            let permit = inner
                .in_flight
                .acquire()
                .await
                .expect("the client's semaphore is never closed");
            let lease = inner.pool.acquire(repeat_on.take()).await?;
            inner.requests_sent.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(method = %call.method, url = %url, "request");
            let mut request = inner
                .http
                .request(call.method.clone(), url.clone())
                .bearer_auth(lease.token.expose())
                .header(reqwest::header::ACCEPT, call.accept)
                .timeout(inner.options.request_timeout);
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let sent_at = Instant::now();
            let result = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    response
                        .bytes()
                        .await
                        .map(|body| (status, headers, body.to_vec()))
                }
                Err(e) => Err(e),
            };
            drop(permit);
            // One line per exchange, with its time on the wire: what the benchmark's critical
            // path is measured from (a subscriber for `dactl::wire` at trace level).
            tracing::trace!(
                target: "dactl::wire",
                method = %call.method,
                url = %url,
                status = result.as_ref().map_or(0, |(status, _, _)| status.as_u16()),
                micros = u64::try_from(sent_at.elapsed().as_micros()).unwrap_or(u64::MAX),
                "answer"
            );

            let (failure, error) = match result {
                Ok((status, headers, body)) if status.is_success() => {
                    let json = headers
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.contains("json"));
                    return Ok(Answer { body, json });
                }
                Ok((status, headers, body)) => {
                    let error = api_error(status, &headers, &body, call.action_id);
                    tracing::debug!(status = status.as_u16(), "error response");
                    if status == StatusCode::UNAUTHORIZED && !reminted && inner.pool.can_mint() {
                        // The token expired or was revoked early: one new token in its place, one
                        // repeat on it.
                        reminted = true;
                        inner.pool.invalidate(lease.slot, &lease.token);
                        repeat_on = Some(lease.slot);
                        continue;
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = retry_after_header(&headers)
                            .or_else(|| retry_after_in_message(&error))
                            .unwrap_or(Duration::from_secs(1));
                        if wait > policy.max_retry_after {
                            return Err(Error::RetryAfterTooLong {
                                retry_after: wait,
                                correlation_id: error.correlation_id().map(str::to_string),
                                max_retry_after: policy.max_retry_after,
                            });
                        }
                        // Only this token waits; the request goes on with the token free soonest
                        // (with one token, that is this one after its wait).
                        inner.pool.pause(lease.slot, wait);
                        if started.elapsed() + inner.pool.soonest_wait() > policy.max_total {
                            return Err(error);
                        }
                        continue;
                    }
                    (Failure::Status(status.as_u16()), error)
                }
                Err(e) => {
                    // A connect error means the request never left; anything later may have arrived.
                    (
                        Failure::Transport {
                            sent: !e.is_connect(),
                        },
                        transport_error(&e),
                    )
                }
            };
            attempts += 1;
            match policy.decide(&call.method, failure, attempts) {
                Verdict::RetryAfter(wait) if started.elapsed() + wait <= policy.max_total => {
                    tracing::debug!(?wait, attempts, "retrying");
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(error),
            }
        }
    }
}

/// A non-2xx answer as `Error::Api`; the correlation id from `ININ-Correlation-Id`, else the body's
/// `contextId`.
fn api_error(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    action_id: Option<&str>,
) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let header_id = headers
        .get("inin-correlation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (code, message, context_id) = match parsed {
        Some(body) => (body.code, body.message, body.context_id),
        None => {
            // Not an ErrorBody (a proxy's HTML page, say): keep a short, printable excerpt.
            let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let text = if text.is_empty() {
                status.canonical_reason().unwrap_or("").to_string()
            } else {
                text
            };
            (String::new(), text, None)
        }
    };
    Error::Api {
        status: status.as_u16(),
        code,
        message,
        correlation_id: header_id.or(context_id),
        action_id: action_id.map(str::to_string),
    }
}

/// The seconds of "Retry the request in [42] seconds", for a 429 that lost its `Retry-After`.
fn retry_after_in_message(error: &Error) -> Option<Duration> {
    let Error::Api { message, .. } = error else {
        return None;
    };
    let start = message.find('[')? + 1;
    let end = start + message[start..].find(']')?;
    message[start..end]
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(1_000_000_000)))
}

/// Percent-encodes one path segment: everything but the unreserved characters of RFC 3986, so a
/// `/`, `?`, `#` or `%` in an id stays inside its segment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new(ClientOptions {
            target: Target::parse("eu-west-1").unwrap(),
            credentials: Credentials::AccessToken(Secret::new("t")),
            rate_per_minute: 300,
            tokens: 1,
            concurrency: 8,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
        })
        .unwrap()
    }

    #[test]
    fn ids_stay_inside_their_path_segment() {
        let client = client();
        let call = Call::new(
            Method::GET,
            vec!["api", "v2", "integrations", "actions", "a/b?c#d%2F é"],
        )
        .query("includeConfig", true);
        let url = client.url(&call).unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.mypurecloud.ie/api/v2/integrations/actions/a%2Fb%3Fc%23d%252F%20%C3%A9?includeConfig=true"
        );
    }

    #[test]
    fn dot_segments_are_refused_before_sending() {
        let client = client();
        for id in ["..", ".", ""] {
            let call = Call::new(
                Method::GET,
                vec!["api", "v2", "integrations", "actions", id],
            )
            .action(id);
            let err = client.url(&call).unwrap_err();
            assert_eq!(err.status(), Some(404));
            assert_eq!(err.action_id(), Some(id));
        }
    }

    #[test]
    fn error_bodies_become_api_errors_with_the_correlation_id() {
        let mut headers = reqwest::header::HeaderMap::new();
        let body =
            br#"{"message":"Not found","code":"not.found","status":404,"contextId":"ctx-1"}"#;
        let err = api_error(StatusCode::NOT_FOUND, &headers, body, Some("x"));
        assert_eq!(err.correlation_id(), Some("ctx-1"));
        headers.insert("ININ-Correlation-Id", "hdr-1".parse().unwrap());
        let err = api_error(StatusCode::NOT_FOUND, &headers, body, Some("x"));
        assert_eq!(err.correlation_id(), Some("hdr-1"));
        let Error::Api { code, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("not.found", "Not found")
        );
        let err = api_error(
            StatusCode::BAD_GATEWAY,
            &headers,
            b"<html>\n bad gateway </html>",
            None,
        );
        assert!(
            err.to_string().contains("<html> bad gateway </html>"),
            "{err}"
        );
    }

    #[test]
    fn a_429_without_retry_after_is_read_from_its_message() {
        let body = br#"{"message":"Rate limit exceeded the maximum. Retry the request in [42] seconds","code":"too.many.requests.retry.after","status":429}"#;
        let err = api_error(
            StatusCode::TOO_MANY_REQUESTS,
            &Default::default(),
            body,
            None,
        );
        assert_eq!(retry_after_in_message(&err), Some(Duration::from_secs(42)));
        let err = api_error(
            StatusCode::TOO_MANY_REQUESTS,
            &Default::default(),
            b"{}",
            None,
        );
        assert_eq!(retry_after_in_message(&err), None);
    }

    #[test]
    fn client_is_send_sync_and_debug_hides_credentials() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Client>();
        let secret = "Sec-0451-debug-canary";
        let client = Client::new(ClientOptions {
            target: Target::parse("eu-west-1").unwrap(),
            credentials: Credentials::ClientCredentials {
                client_id: "debug-client-id".into(),
                client_secret: Secret::new(secret),
            },
            rate_per_minute: 300,
            tokens: 1,
            concurrency: 8,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
        })
        .unwrap();
        let shown = format!("{client:?} {client:#?}");
        // What a log line needs is there: a `Debug` that printed nothing would pass the rest.
        assert!(
            shown.contains("mypurecloud.ie") && shown.contains("rate_per_minute: 300"),
            "{shown}"
        );
        // The options do print the credentials, through `Secret`: the path a secret would leak
        // by, were `Secret`'s `Debug` derived or the field a plain `String`.
        let options = format!("{:?} {:#?}", client.options(), client.options());
        assert!(
            options.contains("debug-client-id") && options.contains("(redacted)"),
            "{options}"
        );
        for text in [&shown, &options] {
            assert!(!text.contains(secret), "the secret leaked: {text}");
        }
    }
}
