//! The routes: Data Actions and integrations under `/api/v2`, the token endpoint, and the
//! inspection routes under `/sandbox` (no auth, no faults, no rate limit).
//!
//! Handlers parse query strings and bodies themselves so that every failure is an `ErrorBody`
//! naming the field, as the platform answers, rather than axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::auth::{ACTION_EDIT, Caller, FUNCTION_EDIT};
use super::error::{ApiError, ApiResult};
use super::gateway::{Ctx, gateway};
use super::state::{Draft, Shared, State as Org, StoredAction, TEMPLATE_FIELDS};
use super::variants::{ConflictStatus, Paging};
use crate::genesys::models::{
    Action, ActionConfig, DraftValidationResult, EntityListing, FUNCTION_INTEGRATION_TYPE,
    Function, FunctionConfig, Integration, IntegrationType, PublishDraftInput, UpdateActionInput,
    UpdateDraftInput,
};

const ACTIONS: &str = "/api/v2/integrations/actions";
const DRAFTS: &str = "/api/v2/integrations/actions/drafts";
const MAX_PAGE_SIZE: u32 = 100;
const MAX_IDS: usize = 50;

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

// ---------------------------------------------------------------------------------------------
// Query strings and bodies

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Query {
        let raw = raw.unwrap_or_default();
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn bool(&self, ctx: &str, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid_value(
                ctx,
                key,
                format!("The query parameter {key} must be `true` or `false`; got `{v}`."),
            )),
        }
    }

    fn number(&self, ctx: &str, key: &str, default: u32, max: u32) -> ApiResult<u32> {
        let Some(raw) = self.get(key) else {
            return Ok(default);
        };
        match raw.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_value(
                ctx,
                key,
                format!(
                    "The query parameter {key} must be a whole number from 1 to {max}; got `{raw}`."
                ),
            )),
        }
    }

    /// The query without the paging parameters, re-encoded, for the paging URIs.
    fn rest(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            if k != "pageSize" && k != "pageNumber" {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }
}

/// The top-level fields of each request body the contract defines, and the required ones.
struct BodyModel {
    name: &'static str,
    fields: &'static [&'static str],
    required: &'static [&'static str],
}

const UPDATE_ACTION_INPUT: BodyModel = BodyModel {
    name: "UpdateActionInput",
    fields: &["name", "category", "config", "version"],
    required: &["version"],
};
const UPDATE_DRAFT_INPUT: BodyModel = BodyModel {
    name: "UpdateDraftInput",
    fields: &[
        "name", "category", "config", "contract", "secure", "version",
    ],
    required: &["version"],
};
const PUBLISH_DRAFT_INPUT: BodyModel = BodyModel {
    name: "PublishDraftInput",
    fields: &["version"],
    required: &["version"],
};
const FUNCTION: BodyModel = BodyModel {
    name: "Function",
    fields: &[
        "id",
        "name",
        "description",
        "dateCreated",
        "zipId",
        "handler",
        "runtime",
        "timeoutSeconds",
    ],
    required: &["description", "handler", "runtime"],
};

/// Parses a JSON body into `T` as the platform would: a field the model does not have is
/// refused (400 `bad.request`), a required field that is missing is named (400 `invalid.value`),
/// and any other mistake names its JSON path.
fn parse_body<T: DeserializeOwned>(ctx: &str, body: &[u8], model: &BodyModel) -> ApiResult<T> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(ctx, format!("The request body is not valid JSON: {e}."))
    })?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::bad_request(
            ctx,
            "The request body must be a JSON object.",
        ));
    };
    if let Some(unknown) = object.keys().find(|k| !model.fields.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            ctx,
            format!(
                "Unrecognized field `{unknown}`: {} has no such field. Its fields are {}.",
                model.name,
                model.fields.join(", ")
            ),
        ));
    }
    for field in model.required {
        if object.get(*field).is_none_or(Value::is_null) {
            return Err(ApiError::invalid_value(
                ctx,
                field,
                format!("The field {field} is required in the request body."),
            ));
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid_value(
            ctx,
            &path,
            format!(
                "The request body has an invalid value at {path}: {}.",
                e.inner()
            ),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Lookups and validation shared by several routes

fn find<'a>(org: &'a mut Org, ctx: &str, id: &str) -> ApiResult<&'a mut StoredAction> {
    org.actions.get_mut(id).ok_or_else(|| {
        ApiError::not_found(ctx, format!("Action {id} was not found.")).with_entity(id)
    })
}

fn refuse_static(ctx: &str, action: &StoredAction) -> ApiResult<()> {
    if action.is_static() {
        return Err(ApiError::bad_request(
            ctx,
            format!(
                "Action {} is a built-in (static) action. Built-in actions cannot be changed.",
                action.id
            ),
        )
        .with_entity(&action.id));
    }
    Ok(())
}

/// A config as the contract types it: template text a string, header and translation-map values
/// strings; then its timeout.
fn check_config(ctx: &str, action: &StoredAction, config: &ActionConfig) -> ApiResult<()> {
    let sections = [
        ("request", config.request.as_ref()),
        ("response", config.response.as_ref()),
    ];
    for (name, section) in sections {
        let Some(section) = section else { continue };
        for (key, value) in section {
            let path = format!("config.{name}.{key}");
            let ok = match key.as_str() {
                "requestTemplate" | "requestTemplateUri" | "requestUrlTemplate" | "requestType"
                | "successTemplate" | "successTemplateUri" => value.is_string(),
                "headers" | "translationMap" | "translationMapDefaults" => value
                    .as_object()
                    .is_some_and(|map| map.values().all(Value::is_string)),
                _ => true,
            };
            if !ok {
                return Err(ApiError::invalid_value(
                    ctx,
                    &path,
                    format!("{path} has an invalid value: the contract types it as text."),
                )
                .with_entity(&action.id));
            }
        }
    }
    check_timeout(ctx, action, config)
}

/// `config.timeoutSeconds`: 1..=60 when present, and never on a custom authentication action.
fn check_timeout(ctx: &str, action: &StoredAction, config: &ActionConfig) -> ApiResult<()> {
    let Some(timeout) = config.timeout_seconds else {
        return Ok(());
    };
    if action.custom_auth {
        return Err(ApiError::invalid_value(
            ctx,
            "config.timeoutSeconds",
            format!(
                "config.timeoutSeconds is not valid for custom authentication actions; remove it from the config of action {}.",
                action.id
            ),
        )
        .with_entity(&action.id));
    }
    if !(1..=60).contains(&timeout) {
        return Err(ApiError::invalid_value(
            ctx,
            "config.timeoutSeconds",
            format!("config.timeoutSeconds must be between 1 and 60 seconds; got {timeout}."),
        )
        .with_entity(&action.id));
    }
    Ok(())
}

/// A write with a stale version, refused as the `conflict-status` variant says.
fn stale(
    status: ConflictStatus,
    ctx: &str,
    id: &str,
    sent: i64,
    current: i64,
    what: &str,
) -> ApiError {
    let message = format!(
        "The version {sent} does not match the current version {current} of {what} {id}. Read it again and retry with the current version."
    );
    match status {
        ConflictStatus::Conflict => ApiError::conflict(ctx, message),
        ConflictStatus::BadRequest => ApiError::bad_request(ctx, message),
    }
    .with_entity(id)
}

fn require_function<'a>(org: &'a mut Org, ctx: &str, id: &str) -> ApiResult<&'a mut StoredAction> {
    let integration_id = find(org, ctx, id)?.integration_id.clone();
    let is_function = org
        .integration(&integration_id)
        .is_some_and(|i| i.type_id == FUNCTION_INTEGRATION_TYPE);
    let action = find(org, ctx, id)?;
    if !is_function {
        return Err(ApiError::bad_request(
            ctx,
            format!(
                "Action {id} is not a function data action, so it has no function settings. Only actions of a `function-data-actions` integration have them."
            ),
        )
        .with_entity(id));
    }
    Ok(action)
}

/// A request the contract gives no body (`POST .../draft`): nothing, or an empty JSON object.
fn no_body(ctx: &str, body: &[u8]) -> ApiResult<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) if map.is_empty() => Ok(()),
        Ok(Value::Object(map)) => Err(ApiError::bad_request(
            ctx,
            format!(
                "Unrecognized field `{}`: this request takes no body.",
                map.keys().next().map(String::as_str).unwrap_or_default()
            ),
        )),
        _ => Err(ApiError::bad_request(ctx, "This request takes no body.")),
    }
}

fn no_draft(ctx: &str, id: &str) -> ApiError {
    ApiError::not_found(
        ctx,
        format!("Action {id} has no draft. Create one with POST {ACTIONS}/{id}/draft."),
    )
    .with_entity(id)
}

// ---------------------------------------------------------------------------------------------
// Actions

/// The filters, sort and paging of `GET .../actions`, which `GET .../actions/drafts` shares.
struct ActionFilter {
    page_size: u32,
    page_number: u32,
    include_config: bool,
    include_auth: bool,
    secure: Option<bool>,
    ids: Option<Vec<String>>,
    sort_by: String,
    descending: bool,
    category: Option<String>,
    /// Lower-cased: the name filter is a case-insensitive partial match.
    name: Option<String>,
}

/// What the filters look at: the action's own fields, or its draft's (`draft`).
struct Row<'a, D> {
    action: &'a StoredAction,
    name: &'a str,
    category: &'a str,
    secure: bool,
    draft: D,
}

impl ActionFilter {
    fn parse(ctx: &str, query: &Query) -> ApiResult<ActionFilter> {
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
    fn page<'a, D>(
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

async fn list_actions(
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

/// `GET .../actions/drafts`: every action that has a draft, in the draft's API shape (its own
/// name, category, version, and config with `includeConfig=true`), with the filters, paging and
/// template shape of the actions listing. The filters look at the draft's fields. The contract's
/// `nextPage`/`previousPage` tokens are ignored: `pageNumber` pages.
async fn list_drafts(
    State(shared): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<EntityListing<Action>>> {
    let query = Query::parse(raw);
    let filter = ActionFilter::parse(&caller.ctx, &query)?;
    let org = shared.lock();
    let variants = org.options.variants;
    let rows = org.actions.values().filter_map(|a| {
        a.draft.as_ref().map(|d| Row {
            action: a,
            name: &d.name,
            category: &d.category,
            secure: d.secure,
            draft: d,
        })
    });
    Ok(Json(filter.page(
        DRAFTS,
        &query,
        rows,
        variants.paging,
        |row| {
            row.action
                .draft_to_api(row.draft, filter.include_config, false, variants.templates)
        },
    )))
}

/// A page with the platform's paging fields; `nextUri`/`previousUri` only where such a page exists.
/// With `Paging::NextUri` the fields that tell the count (`pageCount`, `total`, `lastUri`) are left
/// out, so a client must follow `nextUri`.
fn listing<T>(
    path: &str,
    query: &Query,
    entities: Vec<T>,
    total: usize,
    page_size: u32,
    page_number: u32,
    paging: Paging,
) -> EntityListing<T> {
    let page_count = total.div_ceil(page_size as usize) as u32;
    let rest = query.rest();
    let uri = |n: u32| {
        let mut uri = format!("{path}?pageSize={page_size}&pageNumber={n}");
        if !rest.is_empty() {
            uri.push('&');
            uri.push_str(&rest);
        }
        uri
    };
    let counted = paging == Paging::PageCount;
    EntityListing {
        entities,
        page_size: Some(page_size),
        page_number: Some(page_number),
        total: counted.then_some(total as u64),
        page_count: counted.then_some(page_count),
        first_uri: Some(uri(1)),
        next_uri: (page_number < page_count).then(|| uri(page_number + 1)),
        previous_uri: (page_number > 1).then(|| uri((page_number - 1).min(page_count.max(1)))),
        last_uri: counted.then(|| uri(page_count.max(1))),
        self_uri: Some(uri(page_number)),
    }
}

async fn get_action(
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

fn expand_contract(ctx: &str, query: &Query) -> ApiResult<bool> {
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

async fn patch_action(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Action>> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    let input: UpdateActionInput = parse_body(ctx, &body, &UPDATE_ACTION_INPUT)?;
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
async fn get_template(
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

/// `GET .../draft/templates/{fileName}`: the same for the draft.
async fn get_draft_template(
    State(shared): State<Shared>,
    caller: Caller,
    Path((id, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ctx = &caller.ctx;
    let mut org = shared.lock();
    let action = find(&mut org, ctx, &id)?;
    let draft = action.draft.as_ref().ok_or_else(|| no_draft(ctx, &id))?;
    let text = draft.body.template(&file).cloned();
    template_text(ctx, &id, &file, text)
}

fn template_text(ctx: &str, id: &str, file: &str, text: Option<String>) -> ApiResult<Response> {
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

// ---------------------------------------------------------------------------------------------
// Drafts and function settings

/// `POST .../draft`: copies the published action into a new draft at version 1. A second draft is
/// refused with 400 `bad.request` (the platform's answer is not documented; a 409 would read as a
/// version conflict, which this is not).
async fn create_draft(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Action>> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    no_body(ctx, &body)?;
    let mut org = shared.lock();
    let templates = org.options.variants.templates;
    let action = find(&mut org, ctx, &id)?;
    refuse_static(ctx, action)?;
    if let Some(draft) = &action.draft {
        return Err(ApiError::bad_request(
            ctx,
            format!(
                "Action {id} already has a draft (version {}). Read it with GET, change it with PATCH, or publish it with POST {ACTIONS}/{id}/draft/publish.",
                draft.version
            ),
        )
        .with_entity(&id));
    }
    // Template text is copied into the draft, so publishing keeps it.
    let draft = action.new_draft();
    let shown = action.draft_to_api(&draft, true, false, templates);
    action.draft = Some(draft);
    Ok(Json(shown))
}

/// `DELETE .../draft`: discards the draft (204); 404 when there is none.
async fn delete_draft(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    let mut org = shared.lock();
    let action = find(&mut org, ctx, &id)?;
    if action.draft.take().is_none() {
        return Err(no_draft(ctx, &id));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn get_draft(
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
    let draft = action.draft.as_ref().ok_or_else(|| no_draft(ctx, &id))?;
    Ok(Json(action.draft_to_api(
        draft,
        include_config,
        contract,
        templates,
    )))
}

async fn patch_draft(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Action>> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    let input: UpdateDraftInput = parse_body(ctx, &body, &UPDATE_DRAFT_INPUT)?;
    let mut org = shared.lock();
    let variants = org.options.variants;
    let action = find(&mut org, ctx, &id)?;
    if let Some(config) = &input.config {
        check_config(ctx, action, config)?;
    }
    let mut draft = action.draft.clone().ok_or_else(|| no_draft(ctx, &id))?;
    if input.version != draft.version {
        let current = draft.version;
        return Err(stale(
            variants.conflict_status,
            ctx,
            &id,
            input.version,
            current,
            "the draft of action",
        ));
    }
    let base = action.draft_template_base();
    if let Some(name) = input.name {
        draft.name = name;
    }
    if let Some(category) = input.category {
        draft.category = category;
    }
    if let Some(config) = input.config {
        draft
            .body
            .write(config, &base, variants.template_on_missing);
    }
    if let Some(contract) = input.contract {
        draft.contract = contract;
    }
    if let Some(secure) = input.secure {
        draft.secure = secure;
    }
    draft.version += 1;
    let shown = action.draft_to_api(&draft, true, false, variants.templates);
    action.draft = Some(draft);
    Ok(Json(shown))
}

/// What keeps a draft from being published, as `ErrorBody` values.
fn draft_errors(ctx: &str, action: &StoredAction, draft: &Draft, is_function: bool) -> Vec<Value> {
    let mut errors = Vec::new();
    if let Err(error) = check_timeout(ctx, action, &draft.body.config) {
        errors.push(json!(error.body()));
    }
    if draft.body.config.request.is_none() {
        errors.push(json!(
            ApiError::invalid_value(ctx, "config.request", "config.request is required.").body()
        ));
    }
    if is_function {
        let function = draft.function.as_ref().and_then(|f| f.function.as_ref());
        let zip_ready = draft
            .function
            .as_ref()
            .and_then(|f| f.extra.get("zip"))
            .and_then(|z| z.get("status"))
            .and_then(Value::as_str)
            == Some("Available");
        if function.is_none() {
            errors.push(json!(
                ApiError::invalid_value(ctx, "function", "The function settings are missing.")
                    .body()
            ));
        }
        if !zip_ready {
            errors.push(json!(
                ApiError::invalid_value(ctx, "zip", "The function has no uploaded zip file.")
                    .body()
            ));
        }
    }
    errors
}

async fn validate_draft(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DraftValidationResult>> {
    let ctx = &caller.ctx;
    let mut org = shared.lock();
    let action = find(&mut org, ctx, &id)?.clone();
    let draft = action.draft.as_ref().ok_or_else(|| no_draft(ctx, &id))?;
    let errors = draft_errors(ctx, &action, draft, org.is_function_action(&action));
    Ok(Json(DraftValidationResult {
        valid: errors.is_empty(),
        errors,
    }))
}

/// `POST .../draft/publish {version}`: the action takes the draft's name, category, config,
/// contract and function settings; its version rises by one and the draft is gone.
async fn publish_draft(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Action>> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    let input: PublishDraftInput = parse_body(ctx, &body, &PUBLISH_DRAFT_INPUT)?;
    let mut org = shared.lock();
    let variants = org.options.variants;
    let snapshot = find(&mut org, ctx, &id)?.clone();
    let is_function = org.is_function_action(&snapshot);
    let draft = snapshot.draft.as_ref().ok_or_else(|| no_draft(ctx, &id))?;
    if input.version != draft.version {
        return Err(stale(
            variants.conflict_status,
            ctx,
            &id,
            input.version,
            draft.version,
            "the draft of action",
        ));
    }
    let errors = draft_errors(ctx, &snapshot, draft, is_function);
    if let Some(first) = errors.first() {
        let reason = first["message"]
            .as_str()
            .unwrap_or("the draft is not valid");
        return Err(ApiError::bad_request(
            ctx,
            format!("The draft of action {id} cannot be published: {reason}"),
        )
        .with_entity(&id));
    }
    let action = find(&mut org, ctx, &id)?;
    let Some(draft) = action.draft.take() else {
        return Err(no_draft(ctx, &id));
    };
    action.publish(draft);
    Ok(Json(action.to_api(true, false, variants.templates)))
}

async fn get_function(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<FunctionConfig>> {
    let ctx = &caller.ctx;
    let mut org = shared.lock();
    let action = require_function(&mut org, ctx, &id)?;
    Ok(Json(action.function.clone().unwrap_or_default()))
}

async fn get_draft_function(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<FunctionConfig>> {
    let ctx = &caller.ctx;
    let mut org = shared.lock();
    let action = require_function(&mut org, ctx, &id)?;
    let draft = action.draft.as_ref().ok_or_else(|| no_draft(ctx, &id))?;
    Ok(Json(draft.function.clone().unwrap_or_default()))
}

/// `PUT .../draft/function` with a `Function` body. The body replaces the settings; fields the
/// platform owns (`id`, `name`, `dateCreated`, `zipId`) are kept from before. `timeoutSeconds`
/// defaults to 15 and must be 1..=15.
async fn put_draft_function(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<FunctionConfig>> {
    caller.require(FUNCTION_EDIT)?;
    let ctx = &caller.ctx;
    let mut input: Function = parse_body(ctx, &body, &FUNCTION)?;
    match input.timeout_seconds {
        None => input.timeout_seconds = Some(15),
        Some(t) if !(1..=15).contains(&t) => {
            return Err(ApiError::invalid_value(
                ctx,
                "timeoutSeconds",
                format!("timeoutSeconds of a function must be between 1 and 15 seconds; got {t}."),
            )
            .with_entity(&id));
        }
        Some(_) => {}
    }
    let mut org = shared.lock();
    let action = require_function(&mut org, ctx, &id)?;
    let draft = action.draft.as_mut().ok_or_else(|| no_draft(ctx, &id))?;
    let settings = draft.function.get_or_insert_with(FunctionConfig::default);
    if let Some(old) = &settings.function {
        for owned in ["id", "name", "dateCreated", "zipId"] {
            if let Some(value) = old.extra.get(owned) {
                input.extra.insert(owned.into(), value.clone());
            }
        }
    }
    settings.function = Some(input);
    Ok(Json(settings.clone()))
}

// ---------------------------------------------------------------------------------------------
// Integrations

async fn list_integrations(
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
        .map(|i| {
            let mut type_extra = Map::new();
            type_extra.insert("name".into(), i.type_name.clone().into());
            type_extra.insert(
                "selfUri".into(),
                format!("/api/v2/integrations/types/{}", i.type_id).into(),
            );
            let mut extra = Map::new();
            extra.insert("intendedState".into(), "ENABLED".into());
            extra.insert(
                "selfUri".into(),
                format!("/api/v2/integrations/{}", i.id).into(),
            );
            Integration {
                id: i.id.clone(),
                name: Some(i.name.clone()),
                integration_type: Some(IntegrationType {
                    id: i.type_id.clone(),
                    extra: type_extra,
                }),
                extra,
            }
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

// ---------------------------------------------------------------------------------------------
// Inspection routes

/// Every action as stored: API shape, config naming its templates by URI, contract, function
/// settings and draft. `?templates=text` adds each template's text beside its URI.
async fn sandbox_actions(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Action>>> {
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
async fn sandbox_edit(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<Json<Action>> {
    let mut org = shared.lock();
    let action = find(&mut org, &ctx.0, &id)?;
    action.version += 1;
    action.name.push_str(" (edited)");
    Ok(Json(action.to_inspection(true)))
}

/// Requests by method, route template and status; per token (keyed by a hash of it), the
/// requests admitted and those its rate limit refused; the peak of requests in flight; the
/// listings that named their actions (`ids=`).
async fn sandbox_stats(State(shared): State<Shared>) -> Json<Value> {
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
async fn sandbox_tokens(State(shared): State<Shared>) -> Json<Value> {
    Json(json!({ "tokens": shared.lock().issued_tokens }))
}

/// Every `/api/v2` and `/oauth/token` exchange so far, oldest answer first, when the sandbox
/// records them (`record_exchanges`); `recording: false` and none otherwise.
async fn sandbox_exchanges(State(shared): State<Shared>) -> Json<Value> {
    let org = shared.lock();
    Json(json!({
        "recording": org.options.record_exchanges,
        "exchanges": org.exchanges,
    }))
}

async fn sandbox_stats_reset(State(shared): State<Shared>) -> StatusCode {
    let mut org = shared.lock();
    org.stats.clear();
    org.token_stats.clear();
    org.listings_by_ids = 0;
    org.peak_in_flight = org.in_flight;
    StatusCode::NO_CONTENT
}
