//! What happens to every request before and after its handler: the correlation id, request
//! statistics, latency, fault injection, and (with `record_exchanges`) a copy of each exchange.
//!
//! Faults stand for trouble in front of the platform (gateway, load balancer), so they are decided
//! before authentication and do not count against the rate limit. A dropped connection really
//! closes the TCP socket: the gateway signals the connection's [`ConnHandle`] and never answers;
//! the accept loop in `mod.rs` then drops the connection. For writes, half of the dropped
//! connections happen after the write was applied, so the client loses the response, not the
//! change.
//!
//! Recording (`SandboxOptions::record_exchanges`, off by default) buffers the request and
//! response bodies of every `/api/v2` and `/oauth/token` request (they are small) and keeps them
//! with the method, the matched route template, the query string, both content types and the
//! status, for `GET /sandbox/exchanges`: what a contract test validates. Off, bodies stream
//! through untouched.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::Notify;

use super::error::ApiError;

/// Most injected faults one request meets in a row while `fault_rate` is below 1.
pub const FAULT_STREAK: u32 = 3;
use super::state::{Shared, uuid_like};

/// The request's correlation id, sent as `ININ-Correlation-Id` and as `contextId` of error bodies.
#[derive(Debug, Clone)]
pub struct Ctx(pub String);

/// Lets a handler close its own TCP connection without answering.
#[derive(Debug, Clone, Default)]
pub struct ConnHandle(pub Arc<Notify>);

pub const CORRELATION_HEADER: &str = "ININ-Correlation-Id";

/// One `/api/v2` or `/oauth/token` request and its answer, as `GET /sandbox/exchanges` shows it.
/// Bodies are text (lossy UTF-8: every body the API takes or gives is text); content types are
/// `None` where the header was absent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    pub method: String,
    /// The route template that matched (`/api/v2/integrations/actions/{actionId}`); the path
    /// itself where none did.
    pub route: String,
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: Option<String>,
    /// The request's `Accept` header: what the client said it takes back.
    pub accept: Option<String>,
    pub request_content_type: Option<String>,
    pub request_body: String,
    /// 0: the connection was dropped without an answer (no response fields then).
    pub status: u16,
    pub response_content_type: Option<String>,
    pub response_body: String,
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads a whole body. A body that cannot be read (the client went away mid-request) counts as
/// empty: the handler then refuses it as it would any empty body.
async fn buffer(body: Body) -> Bytes {
    axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttle,
    Unavailable,
    DropBefore,
    DropAfter,
}

pub async fn gateway(State(shared): State<Shared>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let api = path.starts_with("/api/v2/") || path == "/api/v2";
    let timed = api || path == "/oauth/token";
    let counted = !path.starts_with("/sandbox/");
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    // The analytics query is a POST that only reads.
    let write = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&method)
        && route != super::analytics::ROUTE;
    // A listing that names its actions (`ids=`) reads them back; one without pages through.
    let by_ids = method == Method::GET
        && route == "/api/v2/integrations/actions"
        && request
            .uri()
            .query()
            .is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "ids"));

    let (ctx, latency, fault, retry_after, recording) = {
        let mut state = shared.lock();
        if by_ids {
            state.listings_by_ids += 1;
        }
        let recording = counted && state.options.record_exchanges;
        let ctx = uuid_like(&mut state.rng);
        let rate = state.options.fault_rate;
        let only_throttle = state.options.only_throttle_faults;
        let eligible = api && (write || !state.options.only_write_faults);
        let mut drawn = eligible && rate > 0.0 && state.rng.f64() < rate;
        // Below 1.0 faults are transient: the same request meets at most `FAULT_STREAK` in a
        // row, so a client that retries more often than that always gets through.
        if eligible && rate < 1.0 {
            let key = format!("{method} {path}?{}", request.uri().query().unwrap_or(""));
            let streak = state.fault_streaks.entry(key.clone()).or_default();
            if drawn && *streak >= FAULT_STREAK {
                drawn = false;
            }
            if drawn {
                *streak += 1;
            } else {
                state.fault_streaks.remove(&key);
            }
        }
        let fault = drawn.then(|| match state.rng.u32(0..3) {
            _ if only_throttle => Fault::Throttle,
            0 => Fault::Throttle,
            1 => Fault::Unavailable,
            _ if write && state.rng.bool() => Fault::DropAfter,
            _ => Fault::DropBefore,
        });
        let retry_after = state.options.retry_after_secs;
        (ctx, state.options.latency_ms, fault, retry_after, recording)
    };
    // With recording on, the request body is read here and handed on as the same bytes.
    let mut exchange = None;
    if recording {
        let (parts, body) = request.into_parts();
        let bytes = buffer(body).await;
        exchange = Some(Exchange {
            method: method.to_string(),
            route: route.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            accept: header_text(&parts.headers, header::ACCEPT),
            request_content_type: header_text(&parts.headers, header::CONTENT_TYPE),
            request_body: String::from_utf8_lossy(&bytes).into_owned(),
            status: 0,
            response_content_type: None,
            response_body: String::new(),
        });
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(Ctx(ctx.clone()));
    let conn = request.extensions().get::<ConnHandle>().cloned();
    let _in_flight = counted.then(|| InFlight::enter(&shared));

    if timed && latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    let response = match fault {
        None => Some(next.run(request).await),
        Some(Fault::Throttle) => {
            Some(ApiError::too_many_requests(&ctx, retry_after).into_response())
        }
        Some(Fault::Unavailable) => Some(ApiError::service_unavailable(&ctx).into_response()),
        Some(Fault::DropBefore) => None,
        Some(Fault::DropAfter) => {
            next.run(request).await;
            None
        }
    };
    // A connection can only be dropped where the accept loop gave us its handle; anywhere else
    // (never in practice) a 503 stands in for it.
    let response = match (response, conn) {
        (Some(response), _) => response,
        (None, Some(conn)) => {
            if counted {
                record(&shared, &method, &route, 0);
            }
            if let Some(exchange) = exchange.take() {
                shared.lock().exchanges.push(exchange);
            }
            conn.0.notify_one();
            // The accept loop drops this connection, and this future with it.
            std::future::pending::<Response>().await
        }
        (None, None) => ApiError::service_unavailable(&ctx).into_response(),
    };
    let mut response = response;
    if counted {
        record(&shared, &method, &route, response.status().as_u16());
    }
    if let Ok(value) = HeaderValue::from_str(&ctx) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    if let Some(mut exchange) = exchange {
        let (parts, body) = response.into_parts();
        let bytes = buffer(body).await;
        exchange.status = parts.status.as_u16();
        exchange.response_content_type = header_text(&parts.headers, header::CONTENT_TYPE);
        exchange.response_body = String::from_utf8_lossy(&bytes).into_owned();
        shared.lock().exchanges.push(exchange);
        response = Response::from_parts(parts, Body::from(bytes));
    }
    response
}

/// Counts an API request as in flight from when the gateway sees it until its answer is sent
/// (or its connection dropped), and keeps the peak for `/sandbox/stats`.
struct InFlight(Shared);

impl InFlight {
    fn enter(shared: &Shared) -> InFlight {
        let mut state = shared.lock();
        state.in_flight += 1;
        state.peak_in_flight = state.peak_in_flight.max(state.in_flight);
        InFlight(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
    }
}

fn record(shared: &Shared, method: &Method, route: &str, status: u16) {
    let mut state = shared.lock();
    *state
        .stats
        .entry((method.to_string(), route.to_owned(), status))
        .or_default() += 1;
}
