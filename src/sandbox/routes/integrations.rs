//! The integrations listing: each with its type, so one listing tells every action's kind.

use axum::Json;
use axum::extract::{RawQuery, State};

use super::MAX_PAGE_SIZE;
use super::helpers::{Query, listing};
use crate::sandbox::auth::Caller;
use crate::sandbox::error::ApiResult;
use crate::sandbox::state::Shared;
use crate::sandbox::wire::{EntityListing, Integration, IntegrationType};

pub(super) async fn list_integrations(
    State(shared): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<EntityListing<Integration>>> {
    let ctx = &caller.ctx;
    let query = Query::parse(raw);
    let page_size = query.number(ctx, "pageSize", 25, MAX_PAGE_SIZE)?;
    let page_number = query.number(ctx, "pageNumber", 1, u32::MAX)?;
    // `ids` is an array parameter here: repeated (`ids=a&ids=b`) or comma-separated.
    let ids: Vec<&str> = query
        .0
        .iter()
        .filter(|(k, _)| k == "ids")
        .flat_map(|(_, v)| v.split(',').map(str::trim))
        .filter(|id| !id.is_empty())
        .collect();
    let ids = (!ids.is_empty()).then_some(ids);
    let type_filter = query.get("integrationType");
    let org = shared.lock();
    let matching: Vec<_> = org
        .integrations
        .iter()
        .filter(|i| ids.as_ref().is_none_or(|ids| ids.contains(&i.id.as_str())))
        .filter(|i| type_filter.is_none_or(|t| i.type_id == t))
        .collect();
    let entities = matching
        .iter()
        .skip((page_number as usize - 1).saturating_mul(page_size as usize))
        .take(page_size as usize)
        .map(|i| Integration {
            id: i.id.clone(),
            name: i.name.clone(),
            integration_type: IntegrationType {
                id: i.type_id.clone(),
                name: i.type_name.clone(),
                self_uri: format!("/api/v2/integrations/types/{}", i.type_id),
            },
            intended_state: "ENABLED".into(),
            self_uri: format!("/api/v2/integrations/{}", i.id),
        })
        .collect();
    Ok(Json(listing(
        "/api/v2/integrations",
        &query,
        entities,
        matching.len(),
        page_size,
        page_number,
        org.options.variants.paging,
    )))
}
