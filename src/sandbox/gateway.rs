//! What happens to every request before and after its handler: the correlation id, request
//! statistics, latency and fault injection.
//!
//! Faults stand for trouble in front of the platform (gateway, load balancer), so they are decided
//! before authentication and do not count against the rate limit. A dropped connection really
//! closes the TCP socket: the gateway signals the connection's [`ConnHandle`] and never answers;
//! the accept loop in `mod.rs` then drops the connection. For writes, half of the dropped
//! connections happen after the write was applied, so the client loses the response, not the
//! change.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use super::error::ApiError;
use super::state::{Shared, uuid_like};

/// The request's correlation id, sent as `ININ-Correlation-Id` and as `contextId` of error bodies.
#[derive(Debug, Clone)]
pub struct Ctx(pub String);

/// Lets a handler close its own TCP connection without answering.
#[derive(Debug, Clone, Default)]
pub struct ConnHandle(pub Arc<Notify>);

pub const CORRELATION_HEADER: &str = "ININ-Correlation-Id";

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
    let write = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&method);

    let (ctx, latency, fault, retry_after) = {
        let mut state = shared.lock();
        let ctx = uuid_like(&mut state.rng);
        let rate = state.options.fault_rate;
        let only_throttle = state.options.only_throttle_faults;
        let eligible = api && (write || !state.options.only_write_faults);
        let fault =
            (eligible && rate > 0.0 && state.rng.f64() < rate).then(|| match state.rng.u32(0..3) {
                _ if only_throttle => Fault::Throttle,
                0 => Fault::Throttle,
                1 => Fault::Unavailable,
                _ if write && state.rng.bool() => Fault::DropAfter,
                _ => Fault::DropBefore,
            });
        let retry_after = state.options.retry_after_secs;
        (ctx, state.options.latency_ms, fault, retry_after)
    };
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
