//! Drafts and function settings: the drafts listing, a draft's life (create, read, PATCH,
//! validate, publish, delete, templates), and the function settings of a function data action
//! (published, and the draft's, which `PUT` replaces).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::actions::{ActionFilter, Row, expand_contract, template_text};
use super::helpers::{
    Query, check_config, check_timeout, find, no_body, no_draft, parse_body, refuse_static,
    require_function, stale,
};
use super::{ACTIONS, DRAFTS};
use crate::sandbox::auth::{ACTION_EDIT, Caller, FUNCTION_EDIT};
use crate::sandbox::error::{ApiError, ApiResult};
use crate::sandbox::state::{Draft, Shared, StoredAction};
use crate::sandbox::wire::{
    Action, DraftValidationResult, EntityListing, ErrorBody, Function, FunctionConfig,
    PublishDraftInput, UpdateDraftInput,
};

/// `POST .../draft`: copies the published action into a new draft at version 1. A second draft is
/// refused with 400 `bad.request` (the platform's answer is not documented; a 409 would read as a
/// version conflict, which this is not).
pub(super) async fn create_draft(
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
pub(super) async fn delete_draft(
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

pub(super) async fn get_draft(
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

pub(super) async fn patch_draft(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Action>> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    let input: UpdateDraftInput = parse_body(ctx, &body)?;
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
        draft.contract = json!(contract);
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
fn draft_errors(
    ctx: &str,
    action: &StoredAction,
    draft: &Draft,
    is_function: bool,
) -> Vec<ErrorBody> {
    let mut errors = Vec::new();
    if let Err(error) = check_timeout(ctx, action, &draft.body.config) {
        errors.push(error.body());
    }
    if draft.body.config.request.is_none() {
        errors.push(
            ApiError::invalid_value(ctx, "config.request", "config.request is required.").body(),
        );
    }
    if is_function {
        let function = draft.function.as_ref().and_then(|f| f.function.as_ref());
        let zip_ready = draft
            .function
            .as_ref()
            .and_then(|f| f.zip.as_ref())
            .and_then(|z| z.status.as_deref())
            == Some("Available");
        if function.is_none() {
            errors.push(
                ApiError::invalid_value(ctx, "function", "The function settings are missing.")
                    .body(),
            );
        }
        if !zip_ready {
            errors.push(
                ApiError::invalid_value(ctx, "zip", "The function has no uploaded zip file.")
                    .body(),
            );
        }
    }
    errors
}

pub(super) async fn validate_draft(
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
pub(super) async fn publish_draft(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Action>> {
    caller.require(ACTION_EDIT)?;
    let ctx = &caller.ctx;
    let input: PublishDraftInput = parse_body(ctx, &body)?;
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
        let reason = &first.message;
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

pub(super) async fn get_function(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<FunctionConfig>> {
    let ctx = &caller.ctx;
    let mut org = shared.lock();
    let action = require_function(&mut org, ctx, &id)?;
    Ok(Json(action.function.clone().unwrap_or_default()))
}

pub(super) async fn get_draft_function(
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
pub(super) async fn put_draft_function(
    State(shared): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<FunctionConfig>> {
    caller.require(FUNCTION_EDIT)?;
    let ctx = &caller.ctx;
    let mut input: Function = parse_body(ctx, &body)?;
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
        input.keep_owned(old);
    }
    settings.function = Some(input);
    Ok(Json(settings.clone()))
}

/// `GET .../actions/drafts`: every action that has a draft, in the draft's API shape (its own
/// name, category, version, and config with `includeConfig=true`), with the filters, paging and
/// template shape of the actions listing. The filters look at the draft's fields. The contract's
/// `nextPage`/`previousPage` tokens are ignored: `pageNumber` pages.
pub(super) async fn list_drafts(
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

/// `GET .../draft/templates/{fileName}`: the same for the draft.
pub(super) async fn get_draft_template(
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
