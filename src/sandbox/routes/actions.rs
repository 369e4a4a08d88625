//! The actions: the listing (whose filters the drafts listing shares), one action, its PATCH
//! and its templates.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::helpers::{Query, check_config, find, listing, parse_body, refuse_static, stale};
use super::{ACTIONS, MAX_IDS, MAX_PAGE_SIZE};
use crate::sandbox::auth::{ACTION_EDIT, Caller};
use crate::sandbox::error::{ApiError, ApiResult};
use crate::sandbox::state::{Shared, State as Org, StoredAction, TEMPLATE_FIELDS};
use crate::sandbox::variants::Paging;
use crate::sandbox::wire::{Action, EntityListing, UpdateActionInput};

/// The filters, sort and paging of `GET .../actions`, which `GET .../actions/drafts` shares.
pub(super) struct ActionFilter {
    page_size: u32,
    page_number: u32,
    pub(super) include_config: bool,
    include_auth: bool,
    secure: Option<bool>,
    pub(super) ids: Option<Vec<String>>,
    sort_by: String,
    descending: bool,
    category: Option<String>,
    /// Lower-cased: the name filter is a case-insensitive partial match.
    name: Option<String>,
}

/// What the filters look at: the action's own fields, or its draft's (`draft`).
pub(super) struct Row<'a, D> {
    pub(super) action: &'a StoredAction,
    pub(super) name: &'a str,
    pub(super) category: &'a str,
    pub(super) secure: bool,
    pub(super) draft: D,
}

impl ActionFilter {
    pub(super) fn parse(ctx: &str, query: &Query) -> ApiResult<ActionFilter> {
        let page_size = query.number(ctx, "pageSize", 25, MAX_PAGE_SIZE)?;
        let page_number = query.number(ctx, "pageNumber", 1, u32::MAX)?;
        let include_config = query.bool(ctx, "includeConfig")?.unwrap_or(false);
        let include_auth = query.bool(ctx, "includeAuthActions")?.unwrap_or(false);
        let secure = query.bool(ctx, "secure")?;
        let ids: Option<Vec<String>> = query.get("ids").map(|ids| {
            ids.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect()
        });
        if let Some(ids) = &ids
            && ids.len() > MAX_IDS
        {
            return Err(ApiError::invalid_value(
                ctx,
                "ids",
                format!(
                    "The query parameter ids accepts at most {MAX_IDS} ids; got {}. Split the request.",
                    ids.len()
                ),
            ));
        }
        let sort_by = query.get("sortBy").unwrap_or("name");
        if !["name", "category", "id"].contains(&sort_by) {
            return Err(ApiError::invalid_value(
                ctx,
                "sortBy",
                format!(
                    "The query parameter sortBy must be `name`, `category` or `id`; got `{sort_by}`."
                ),
            ));
        }
        let descending = match query.get("sortOrder") {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("asc") => false,
            Some(o) if o.eq_ignore_ascii_case("desc") => true,
            Some(o) => {
                return Err(ApiError::invalid_value(
                    ctx,
                    "sortOrder",
                    format!("The query parameter sortOrder must be `ASC` or `DESC`; got `{o}`."),
                ));
            }
        };
        Ok(ActionFilter {
            page_size,
            page_number,
            include_config,
            include_auth,
            secure,
            ids,
            sort_by: sort_by.to_owned(),
            descending,
            category: query.get("category").map(str::to_owned),
            name: query.get("name").map(str::to_lowercase),
        })
    }

    /// The rows that pass every filter, sorted: all of them, before paging.
    fn select<'a, D>(&self, rows: impl Iterator<Item = Row<'a, D>>) -> Vec<Row<'a, D>> {
        let mut matching: Vec<Row<'a, D>> = rows
            .filter(|r| self.include_auth || !r.action.custom_auth)
            .filter(|r| self.category.as_ref().is_none_or(|c| r.category == c))
            .filter(|r| {
                self.name
                    .as_ref()
                    .is_none_or(|n| r.name.to_lowercase().contains(n.as_str()))
            })
            .filter(|r| self.secure.is_none_or(|s| r.secure == s))
            .filter(|r| {
                self.ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&r.action.id))
            })
            .collect();
        let key = |r: &Row<'_, D>| match self.sort_by.as_str() {
            "category" => (r.category.to_lowercase(), r.action.id.clone()),
            "id" => (r.action.id.clone(), String::new()),
            _ => (r.name.to_lowercase(), r.action.id.clone()),
        };
        // One key per row (lowercased once), not one per comparison: a listing of 100 000
        // actions is sorted for every page it serves.
        matching.sort_by_cached_key(|r| key(r));
        if self.descending {
            matching.reverse();
        }
        matching
    }

    /// This filter's page of `rows` (filtered and sorted), each shown by `show`, with the paging
    /// fields of the `paging` variant.
    pub(super) fn page<'a, D>(
        &self,
        path: &str,
        query: &Query,
        rows: impl Iterator<Item = Row<'a, D>>,
        paging: Paging,
        show: impl Fn(&Row<'a, D>) -> Action,
    ) -> EntityListing<Action> {
        let matching = self.select(rows);
        let entities = matching
            .iter()
            .skip((self.page_number as usize - 1).saturating_mul(self.page_size as usize))
            .take(self.page_size as usize)
            .map(show)
            .collect();
        listing(
            path,
            query,
            entities,
            matching.len(),
            self.page_size,
            self.page_number,
            paging,
        )
    }
}

pub(super) async fn list_actions(
    State(shared): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<EntityListing<Action>>> {
    let query = Query::parse(raw);
    let filter = ActionFilter::parse(&caller.ctx, &query)?;
    let mut org = shared.lock();
    let variants = org.options.variants;
    let rows = org.actions.values().map(|a| Row {
        action: a,
        name: &a.name,
        category: &a.category,
        secure: a.secure,
        draft: (),
    });
    let page = filter.page(ACTIONS, &query, rows, variants.paging, |row| {
        row.action
            .to_api(filter.include_config, false, variants.templates)
    });
    if filter.ids.is_none() && org.renames_left > 0 {
        org.renames_left -= 1;
        rename_last_first(&mut org);
    }
    Ok(Json(page))
}

/// Another admin's edit (`SandboxOptions::renames_during_listing`): the action that sorts last
/// by name is renamed to sort first.
fn rename_last_first(org: &mut Org) {
    let last = org
        .actions
        .values_mut()
        .filter(|a| !a.custom_auth)
        .max_by_key(|a| (a.name.to_lowercase(), a.id.clone()));
    if let Some(action) = last {
        action.name.insert_str(0, "0 renamed meanwhile: ");
        action.version += 1;
    }
}

pub(super) async fn get_action(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Action>> {
    let ctx = &caller.ctx;
    let query = Query::parse(raw);
    let include_config = query.bool(ctx, "includeConfig")?.unwrap_or(false);
    let contract = expand_contract(ctx, &query)?;
    let mut org = shared.lock();
    let templates = org.options.variants.templates;
    let action = find(&mut org, ctx, &id)?;
    Ok(Json(action.to_api(include_config, contract, templates)))
}

pub(super) fn expand_contract(ctx: &str, query: &Query) -> ApiResult<bool> {
    match query.get("expand") {
        None => Ok(false),
        Some("contract") => Ok(true),
        Some(other) => Err(ApiError::invalid_value(
            ctx,
            "expand",
            format!("The query parameter expand accepts only `contract`; got `{other}`."),
        )),
    }
}

pub(super) async fn patch_action(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Action>> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    let input: UpdateActionInput = parse_body(ctx, &body)?;
    let mut org = shared.lock();
    let variants = org.options.variants;
    let corrupt = org.corrupt_writes_left > 0;
    let action = find(&mut org, ctx, &id)?;
    refuse_static(ctx, action)?;
    if let Some(config) = &input.config {
        check_config(ctx, action, config)?;
    }
    if input.version != action.version {
        let current = action.version;
        return Err(stale(
            variants.conflict_status,
            ctx,
            &id,
            input.version,
            current,
            "action",
        ));
    }
    if let Some(name) = input.name {
        action.name = name;
    }
    if let Some(category) = input.category {
        action.category = category;
    }
    if let Some(config) = input.config {
        let base = action.template_base();
        action
            .body
            .write(config, &base, variants.template_on_missing);
    }
    action.version += 1;
    if corrupt {
        action.body.corrupt();
    }
    let shown = action.to_api(true, false, variants.templates);
    if corrupt {
        org.corrupt_writes_left -= 1;
    }
    Ok(Json(shown))
}

/// `GET .../templates/{fileName}`: the template's text as stored, byte for byte, as `text/plain`.
pub(super) async fn get_template(
    State(shared): State<Shared>,
    caller: Caller,
    Path((id, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ctx = &caller.ctx;
    let mut org = shared.lock();
    let action = find(&mut org, ctx, &id)?;
    let text = action.body.template(&file).cloned();
    template_text(ctx, &id, &file, text)
}

pub(super) fn template_text(
    ctx: &str,
    id: &str,
    file: &str,
    text: Option<String>,
) -> ApiResult<Response> {
    let text = text.ok_or_else(|| {
        let known: Vec<&str> = TEMPLATE_FIELDS.iter().map(|f| f.file).collect();
        ApiError::not_found(
            ctx,
            format!(
                "Action {id} has no template named {file}. Templates are {}.",
                known.join(" and ")
            ),
        )
        .with_entity(id)
    })?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
