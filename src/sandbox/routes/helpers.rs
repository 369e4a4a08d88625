//! What several routes share: query strings, request bodies read into the sandbox's own wire
//! types, paging, lookups of an action, and the checks every write makes.

use serde_json::Value;

use super::ACTIONS;
use crate::sandbox::error::{ApiError, ApiResult};
use crate::sandbox::state::{State as Org, StoredAction};
use crate::sandbox::variants::{ConflictStatus, Paging};
use crate::sandbox::wire::{
    ActionConfig, EntityListing, FUNCTION_INTEGRATION_TYPE, RequestBody, field_names,
};

// ---------------------------------------------------------------------------------------------
// Query strings and bodies

/// A query string, every pair in order (a key may repeat).
pub(super) struct Query(pub(super) Vec<(String, String)>);

impl Query {
    pub(super) fn parse(raw: Option<String>) -> Query {
        let raw = raw.unwrap_or_default();
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn bool(&self, ctx: &str, key: &str) -> ApiResult<Option<bool>> {
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

    pub(super) fn number(&self, ctx: &str, key: &str, default: u32, max: u32) -> ApiResult<u32> {
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
    pub(super) fn rest(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            if k != "pageSize" && k != "pageNumber" {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }
}

/// Parses a JSON body into `T` as the platform would: a field `T` does not have is refused (400
/// `bad.request` naming it and the fields there are), a required field that is missing or null
/// is named (400 `invalid.value`), and any other mistake (a wrong type, a nested field the
/// contract closes) names its JSON path (400 `invalid.value`). See `wire` for what is closed.
pub(super) fn parse_body<T: RequestBody>(ctx: &str, body: &[u8]) -> ApiResult<T> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(ctx, format!("The request body is not valid JSON: {e}."))
    })?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::bad_request(
            ctx,
            "The request body must be a JSON object.",
        ));
    };
    let fields = field_names::<T>();
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            ctx,
            format!(
                "Unrecognized field `{unknown}`: {} has no such field. Its fields are {}.",
                T::NAME,
                fields.join(", ")
            ),
        ));
    }
    for field in T::REQUIRED {
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
// Lookups and the checks of a write

pub(super) fn find<'a>(org: &'a mut Org, ctx: &str, id: &str) -> ApiResult<&'a mut StoredAction> {
    org.actions.get_mut(id).ok_or_else(|| {
        ApiError::not_found(ctx, format!("Action {id} was not found.")).with_entity(id)
    })
}

pub(super) fn refuse_static(ctx: &str, action: &StoredAction) -> ApiResult<()> {
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

/// A config as the contract types it (template text a string, header and translation-map values
/// strings: [`ActionConfig::mistyped`]); then its timeout.
pub(super) fn check_config(
    ctx: &str,
    action: &StoredAction,
    config: &ActionConfig,
) -> ApiResult<()> {
    if let Some(path) = config.mistyped() {
        return Err(ApiError::invalid_value(
            ctx,
            &path,
            format!("{path} has an invalid value: the contract types it as text."),
        )
        .with_entity(&action.id));
    }
    check_timeout(ctx, action, config)
}

/// `config.timeoutSeconds`: 1..=60 when present, and never on a custom authentication action.
pub(super) fn check_timeout(
    ctx: &str,
    action: &StoredAction,
    config: &ActionConfig,
) -> ApiResult<()> {
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
pub(super) fn stale(
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

pub(super) fn require_function<'a>(
    org: &'a mut Org,
    ctx: &str,
    id: &str,
) -> ApiResult<&'a mut StoredAction> {
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
pub(super) fn no_body(ctx: &str, body: &[u8]) -> ApiResult<()> {
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

pub(super) fn no_draft(ctx: &str, id: &str) -> ApiError {
    ApiError::not_found(
        ctx,
        format!("Action {id} has no draft. Create one with POST {ACTIONS}/{id}/draft."),
    )
    .with_entity(id)
}

/// A page with the platform's paging fields; `nextUri`/`previousUri` only where such a page exists.
/// With `Paging::NextUri` the fields that tell the count (`pageCount`, `total`, `lastUri`) are left
/// out, so a client must follow `nextUri`.
pub(super) fn listing<T>(
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
        page_size,
        page_number,
        total: counted.then_some(total as u64),
        page_count: counted.then_some(page_count),
        first_uri: uri(1),
        next_uri: (page_number < page_count).then(|| uri(page_number + 1)),
        previous_uri: (page_number > 1).then(|| uri((page_number - 1).min(page_count.max(1)))),
        last_uri: counted.then(|| uri(page_count.max(1))),
        self_uri: uri(page_number),
    }
}
