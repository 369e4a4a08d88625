//! The inspection routes under `/sandbox` (no auth, no faults, no rate limit, not counted): the
//! org as stored, another editor's edit, request statistics, issued tokens, recorded exchanges.
//! `POST /sandbox/clients/{clientId}/revoke` lives with the tokens, in `auth`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::helpers::{Query, find};
use crate::sandbox::error::{ApiError, ApiResult};
use crate::sandbox::gateway::Ctx;
use crate::sandbox::state::Shared;
use crate::sandbox::wire::InspectedAction;

/// Every action as stored: API shape, config naming its templates by URI, contract, function
/// settings and draft. `?templates=text` adds each template's text beside its URI.
pub(super) async fn sandbox_actions(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<InspectedAction>>> {
    let query = Query::parse(raw);
    let with_text = match query.get("templates") {
        None => false,
        Some("text") => true,
        Some(other) => {
            return Err(ApiError::invalid_value(
                &ctx.0,
                "templates",
                format!("The query parameter templates accepts only `text`; got `{other}`."),
            ));
        }
    };
    let org = shared.lock();
    Ok(Json(
        org.actions
            .values()
            .map(|a| a.to_inspection(with_text))
            .collect(),
    ))
}

/// Someone else edits the action: its version rises and its name gains ` (edited)`.
pub(super) async fn sandbox_edit(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<Json<InspectedAction>> {
    let mut org = shared.lock();
    let action = find(&mut org, &ctx.0, &id)?;
    action.version += 1;
    action.name.push_str(" (edited)");
    Ok(Json(action.to_inspection(true)))
}

/// Requests by method, route template and status; per token (keyed by a hash of it), the
/// requests admitted and those its rate limit refused; the peak of requests in flight; the
/// listings that named their actions (`ids=`).
pub(super) async fn sandbox_stats(State(shared): State<Shared>) -> Json<Value> {
    let org = shared.lock();
    let requests: Vec<Value> = org
        .stats
        .iter()
        .map(|((method, route, status), count)| {
            json!({ "method": method, "route": route, "status": status, "count": count })
        })
        .collect();
    Json(json!({
        "requests": requests,
        "tokens": org.token_stats,
        "peak_in_flight": org.peak_in_flight,
        "listings_by_ids": org.listings_by_ids,
    }))
}

/// Every access token issued so far, oldest first, expired ones included.
pub(super) async fn sandbox_tokens(State(shared): State<Shared>) -> Json<Value> {
    Json(json!({ "tokens": shared.lock().issued_tokens }))
}

/// Every `/api/v2` and `/oauth/token` exchange so far, oldest answer first, when the sandbox
/// records them (`record_exchanges`); `recording: false` and none otherwise.
pub(super) async fn sandbox_exchanges(State(shared): State<Shared>) -> Json<Value> {
    let org = shared.lock();
    Json(json!({
        "recording": org.options.record_exchanges,
        "exchanges": org.exchanges,
    }))
}

pub(super) async fn sandbox_stats_reset(State(shared): State<Shared>) -> StatusCode {
    let mut org = shared.lock();
    org.stats.clear();
    org.token_stats.clear();
    org.listings_by_ids = 0;
    org.peak_in_flight = org.in_flight;
    StatusCode::NO_CONTENT
}
