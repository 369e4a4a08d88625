//! Wire models: what Genesys Cloud sends and accepts for Data Actions.
//!
//! Shapes follow `shared/genesys-actions-openapi.json`. Every object that dactl reads and writes
//! back keeps the fields it does not know in `extra` (`#[serde(flatten)]`), and nested request and
//! response configs are kept as raw JSON, so a read-modify-write changes only the field it means
//! to. The sandbox uses these same models for its wire format, but none of the client's code.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An action as `GET /api/v2/integrations/actions/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    /// Present only when the action was read with `includeConfig=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    /// Every other field (`contract`, `selfUri`, fields newer than this model), carried untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ActionConfig`: the timeout, and the request and response processing kept as raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ActionConfig {
    /// Seconds, 1..=60 on the platform; absent when never set. Kept wide so that a value the
    /// platform stored out of range still round-trips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ActionConfig {
    fn text(section: &Option<Map<String, Value>>, key: &str) -> Option<String> {
        section.as_ref()?.get(key)?.as_str().map(str::to_owned)
    }

    /// `request.requestTemplateUri` when the config names its request template by URI only.
    pub fn request_template_uri_only(&self) -> Option<String> {
        match Self::text(&self.request, "requestTemplate") {
            Some(_) => None,
            None => Self::text(&self.request, "requestTemplateUri"),
        }
    }

    /// `response.successTemplateUri` when the config names its success template by URI only.
    pub fn success_template_uri_only(&self) -> Option<String> {
        match Self::text(&self.response, "successTemplate") {
            Some(_) => None,
            None => Self::text(&self.response, "successTemplateUri"),
        }
    }
}

/// `UpdateActionInput`, the body of `PATCH /api/v2/integrations/actions/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateActionInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    pub version: i64,
}

/// `UpdateDraftInput`, the body of `PATCH .../{id}/draft`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDraftInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    pub version: i64,
}

/// `PublishDraftInput`, the body of `POST .../{id}/draft/publish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishDraftInput {
    pub version: i64,
}

/// `DraftValidationResult` from `GET .../{id}/draft/validation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftValidationResult {
    #[serde(default)]
    pub valid: bool,
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// `FunctionConfig` from `GET .../{id}/function` and `GET/PUT .../{id}/draft/function`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FunctionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<Function>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Function`: a function data action's settings, with its own timeout (1..=15 s, default 15).
/// This is also the body of `PUT .../{id}/draft/function`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Integration` from `GET /api/v2/integrations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_type: Option<IntegrationType>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationType {
    pub id: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Integration type id of function data actions.
pub const FUNCTION_INTEGRATION_TYPE: &str = "function-data-actions";

/// A page of `ActionEntityListing` / `IntegrationEntityListing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityListing<T> {
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `ErrorBody`: every non-2xx API response carries one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_params: Option<Map<String, Value>>,
    #[serde(default)]
    pub details: Vec<Value>,
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// `POST /oauth/token` success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    pub expires_in: u64,
}

/// `POST /oauth/token` failure (`invalid_client`, `invalid_request` "rate limit exceeded", ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OAuthError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub error_description: String,
}
