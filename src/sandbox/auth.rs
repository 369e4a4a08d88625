//! OAuth client credentials (`POST /oauth/token`), bearer-token checks, permissions and the
//! per-token rate limit of `/api/v2`.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::{ApiError, ApiResult};
use super::gateway::Ctx;
use super::state::{Shared, Token, token_key};
use super::variants::TokenErrorStatus;
use super::wire::{OAuthError, TokenResponse};

/// Permission every write to an action needs.
pub const ACTION_EDIT: &str = "integrations:action:edit";
/// Permission writes to function settings need.
pub const FUNCTION_EDIT: &str = "integrations:actionFunction:edit";

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = OAuthError {
        error: error.to_owned(),
        description: description.to_owned(),
        error_description: description.to_owned(),
    };
    (status, Json(body)).into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `POST /oauth/token`: Basic auth with the client id and secret, form `grant_type=client_credentials`.
pub async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let refused = |state: &super::state::State| {
        let status = match state.options.variants.token_error_status {
            TokenErrorStatus::BadRequest => StatusCode::BAD_REQUEST,
            TokenErrorStatus::Unauthorized => StatusCode::UNAUTHORIZED,
        };
        oauth_error(status, "invalid_client", "authentication failed")
    };
    let Some((id, secret)) = basic_credentials(&headers) else {
        return refused(&shared.lock());
    };
    let grant_type = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "grant_type")
        .map(|(_, value)| value.into_owned());

    let mut state = shared.lock();
    let matches = |list: &Vec<(String, String)>| list.iter().any(|(i, s)| *i == id && *s == secret);
    let can_write = if matches(&state.options.clients) {
        true
    } else if matches(&state.options.read_only_clients) {
        false
    } else {
        return refused(&state);
    };
    let limit = state.options.token_rate_limit;
    let now = Instant::now();
    if let Err(wait) = state
        .token_windows
        .entry(id.clone())
        .or_default()
        .admit(limit, now)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("rate limit exceeded; retry in {wait} seconds"),
        );
    }
    match grant_type.as_deref() {
        Some("client_credentials") => {}
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            );
        }
    }
    let access_token: String = {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..86)
            .map(|_| ALPHABET[state.rng.usize(0..ALPHABET.len())] as char)
            .collect()
    };
    let ttl = state.options.token_ttl_secs;
    state.issued_tokens.push(access_token.clone());
    state.tokens.insert(
        access_token.clone(),
        Token {
            client_id: id,
            can_write,
            expires: now + Duration::from_secs(ttl),
        },
    );
    Json(TokenResponse {
        access_token,
        token_type: "bearer".into(),
        expires_in: ttl,
    })
    .into_response()
}

/// `POST /sandbox/clients/{clientId}/revoke`: an admin deletes the OAuth client mid-run. Its
/// credentials are refused from now on (`invalid_client`, with the `token-error-status` variant's
/// status) and every token issued to it stops working (401 `bad.credentials`). 204, or 404 when no
/// client has that id.
pub async fn revoke_client(
    State(shared): State<Shared>,
    axum::extract::Path(client_id): axum::extract::Path<String>,
) -> StatusCode {
    let mut state = shared.lock();
    let before = state.options.clients.len() + state.options.read_only_clients.len();
    state.options.clients.retain(|(id, _)| *id != client_id);
    state
        .options
        .read_only_clients
        .retain(|(id, _)| *id != client_id);
    if state.options.clients.len() + state.options.read_only_clients.len() == before {
        return StatusCode::NOT_FOUND;
    }
    state.tokens.retain(|_, token| token.client_id != client_id);
    StatusCode::NO_CONTENT
}

/// An authenticated `/api/v2` caller that passed the rate limit.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The request's correlation id, for error bodies.
    pub ctx: String,
    pub can_write: bool,
}

impl Caller {
    /// 403 `missing.any.permissions` naming `permission` unless the client may write.
    pub fn require(&self, permission: &str) -> ApiResult<()> {
        if self.can_write {
            return Ok(());
        }
        Err(ApiError::new(
            &self.ctx,
            StatusCode::FORBIDDEN,
            "missing.any.permissions",
            format!(
                "Unable to perform the requested action. You must have at least one of the following permissions assigned: [{permission}]"
            ),
        ))
    }
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Shared) -> ApiResult<Caller> {
        let ctx = parts
            .extensions
            .get::<Ctx>()
            .map(|ctx| ctx.0.clone())
            .unwrap_or_default();
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .filter(|token| !token.is_empty());
        let Some(bearer) = bearer else {
            return Err(ApiError::new(
                &ctx,
                StatusCode::UNAUTHORIZED,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            ));
        };
        let bad_credentials = || {
            ApiError::new(
                &ctx,
                StatusCode::UNAUTHORIZED,
                "bad.credentials",
                "Invalid login credentials.",
            )
        };
        let now = Instant::now();
        let mut state = shared.lock();
        let token = match state.tokens.get(&bearer) {
            Some(token) if token.expires > now => token.clone(),
            Some(_) => {
                state.tokens.remove(&bearer);
                state.api_windows.remove(&bearer);
                return Err(bad_credentials());
            }
            None => return Err(bad_credentials()),
        };
        let limit = state.options.rate_limit;
        let admitted = state
            .api_windows
            .entry(bearer.clone())
            .or_default()
            .admit(limit, now);
        let counts = state.token_stats.entry(token_key(&bearer)).or_default();
        if let Err(wait) = admitted {
            counts.throttled += 1;
            return Err(ApiError::too_many_requests(&ctx, wait));
        }
        counts.admitted += 1;
        Ok(Caller {
            ctx,
            can_write: token.can_write,
        })
    }
}
