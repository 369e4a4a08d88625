//! The routes: Data Actions and integrations under `/api/v2`, the token endpoint, and the
//! inspection routes under `/sandbox` (no auth, no faults, no rate limit).
//!
//! Handlers parse query strings and bodies themselves so that every failure is an `ErrorBody`
//! naming the field, as the platform answers, rather than axum's plain-text rejections.
//!
//! [`router`] is the one table of routes; the handlers live by resource:
//! - `actions`: the actions listing, one action, its PATCH and its templates;
//! - `drafts`: the drafts listing, a draft's life (create, read, PATCH, validate, publish,
//!   delete, templates) and function settings;
//! - `integrations`: the integrations listing;
//! - `inspection`: `/sandbox/...`, for tests and demos;
//! - `helpers`: what several of them share: query strings, request bodies (read into the
//!   sandbox's own `wire` types), paging, lookups and the checks of a write.
//!
//! A new resource (analytics, say) gets its own file beside these and its lines in [`router`].

mod actions;
mod drafts;
mod helpers;
mod inspection;
mod integrations;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::error::ApiError;
use super::gateway::{Ctx, gateway};
use super::state::Shared;
use actions::{get_action, get_template, list_actions, patch_action};
use drafts::{
    create_draft, delete_draft, get_draft, get_draft_function, get_draft_template, get_function,
    list_drafts, patch_draft, publish_draft, put_draft_function, validate_draft,
};
use inspection::{
    sandbox_actions, sandbox_edit, sandbox_exchanges, sandbox_stats, sandbox_stats_reset,
    sandbox_tokens,
};
use integrations::list_integrations;

const ACTIONS: &str = "/api/v2/integrations/actions";
const DRAFTS: &str = "/api/v2/integrations/actions/drafts";
const MAX_PAGE_SIZE: u32 = 100;
const MAX_IDS: usize = 50;

/// Every route the sandbox serves, behind the gateway (correlation ids, statistics, latency,
/// faults).
pub fn router(shared: Shared) -> Router {
    let action = "/api/v2/integrations/actions/{actionId}";
    Router::new()
        .route("/oauth/token", post(super::auth::token))
        .route("/api/v2/integrations", get(list_integrations))
        .route(ACTIONS, get(list_actions))
        .route(DRAFTS, get(list_drafts))
        .route(action, get(get_action).patch(patch_action))
        .route(
            &format!("{action}/templates/{{fileName}}"),
            get(get_template),
        )
        .route(
            &format!("{action}/draft/templates/{{fileName}}"),
            get(get_draft_template),
        )
        .route(
            &format!("{action}/draft"),
            get(get_draft)
                .patch(patch_draft)
                .post(create_draft)
                .delete(delete_draft),
        )
        .route(&format!("{action}/draft/validation"), get(validate_draft))
        .route(&format!("{action}/draft/publish"), post(publish_draft))
        .route(
            &format!("{action}/draft/function"),
            get(get_draft_function).put(put_draft_function),
        )
        .route(&format!("{action}/function"), get(get_function))
        .route(
            super::analytics::ROUTE,
            post(super::analytics::aggregates_query),
        )
        .route(
            super::analytics::INSPECTION_ROUTE,
            get(super::analytics::sandbox_executions),
        )
        .route("/sandbox/actions", get(sandbox_actions))
        .route("/sandbox/actions/{actionId}/edit", post(sandbox_edit))
        .route("/sandbox/stats", get(sandbox_stats))
        .route("/sandbox/tokens", get(sandbox_tokens))
        .route("/sandbox/exchanges", get(sandbox_exchanges))
        .route("/sandbox/stats/reset", post(sandbox_stats_reset))
        .route(
            "/sandbox/clients/{clientId}/revoke",
            post(super::auth::revoke_client),
        )
        .fallback(not_found_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            gateway,
        ))
        .with_state(shared)
}

async fn not_found_route(Extension(ctx): Extension<Ctx>, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(
        &ctx.0,
        format!("No resource matches the path `{}`.", uri.path()),
    )
}

async fn method_not_allowed(
    Extension(ctx): Extension<Ctx>,
    method: axum::http::Method,
) -> ApiError {
    ApiError::new(
        &ctx.0,
        StatusCode::METHOD_NOT_ALLOWED,
        "method.not.allowed",
        format!("The method `{method}` is not allowed on this resource."),
    )
}
