//! The sandbox's own wire types: what it accepts and what it answers, written from
//! `tests/contract/genesys-actions-openapi.json` (the notes' Swagger file) and sharing nothing with
//! the client's `genesys::models`. A misspelt or misplaced field in the client therefore meets a
//! second, independent reading of the contract here instead of the client's own catch-alls, and a
//! bug in one cannot cancel the same bug in the other.
//!
//! How strict, and why:
//! - **Request bodies are closed at the top level** (`#[serde(deny_unknown_fields)]`):
//!   `UpdateActionInput`, `UpdateDraftInput`, `PublishDraftInput` and `Function` (the body of
//!   `PUT .../draft/function`). A field the contract does not list there is refused with 400
//!   `bad.request` naming it, before anything is written. Their field lists are asked of serde
//!   ([`field_names`]) and a unit test checks them, and the required ones, against the contract.
//! - **Fields the contract types are typed**: `name`, `category` and a `Function`'s strings are
//!   strings, `secure` a boolean, `version` and timeouts integers, and a draft's `contract` an
//!   `ActionContractInput` (`input.inputSchema` and `output.successSchema` objects, nothing else at
//!   its top level). A wrong type is 400 `invalid.value` naming its JSON path.
//! - **A config stays open** (`ActionConfig::extra`, and `request`/`response` kept as JSON
//!   objects): the notes say real payloads carry more fields than any model lists and that a
//!   client must carry them back, so the platform keeps what it does not know there. The sandbox
//!   checks only the types the contract gives the fields it names ([`ActionConfig::mistyped`]).
//! - **Below a contract's `input`/`output`** unknown fields are kept too: a client writes back the
//!   contract it read, whose shape (`ActionContract`: `inputSchemaUri`, `errorSchema`, ...) is
//!   wider than the one it writes (`ActionContractInput`).
//! - **Answers list their fields** (no catch-all), so the sandbox cannot answer a field the
//!   contract does not name at the top level of an action, a function or a listing. Only
//!   `GET /sandbox/actions` ([`InspectedAction`]) adds `function` and `draft`, and it is not an
//!   API route.

use std::collections::BTreeMap;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Integration type id of function data actions (the contract's `IntegrationType.id`).
pub const FUNCTION_INTEGRATION_TYPE: &str = "function-data-actions";

// ---------------------------------------------------------------------------------------------
// Requests

/// A request body the contract defines: its name in the contract and its required fields. Its
/// field list is the struct's own ([`field_names`]).
pub trait RequestBody: DeserializeOwned {
    const NAME: &'static str;
    const REQUIRED: &'static [&'static str];
}

/// `UpdateActionInput`, the body of `PATCH .../actions/{actionId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateActionInput {
    pub category: Option<String>,
    pub name: Option<String>,
    pub config: Option<ActionConfig>,
    pub version: i64,
}

impl RequestBody for UpdateActionInput {
    const NAME: &'static str = "UpdateActionInput";
    const REQUIRED: &'static [&'static str] = &["version"];
}

/// `UpdateDraftInput`, the body of `PATCH .../actions/{actionId}/draft`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateDraftInput {
    pub category: Option<String>,
    pub name: Option<String>,
    pub config: Option<ActionConfig>,
    pub contract: Option<ActionContractInput>,
    pub secure: Option<bool>,
    pub version: i64,
}

impl RequestBody for UpdateDraftInput {
    const NAME: &'static str = "UpdateDraftInput";
    const REQUIRED: &'static [&'static str] = &["version"];
}

/// `PublishDraftInput`, the body of `POST .../draft/publish`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishDraftInput {
    pub version: i64,
}

impl RequestBody for PublishDraftInput {
    const NAME: &'static str = "PublishDraftInput";
    const REQUIRED: &'static [&'static str] = &["version"];
}

/// `Function`: a function data action's settings, the body of `PUT .../draft/function` and the
/// `function` of a `FunctionConfig`. Every field is optional here so that the same type serves
/// answers; the contract's required ones are checked by name before it is read
/// ([`RequestBody::REQUIRED`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Function {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// 1..=15 seconds; the platform fills 15 when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
}

impl RequestBody for Function {
    const NAME: &'static str = "Function";
    const REQUIRED: &'static [&'static str] = &["description", "handler", "runtime"];
}

impl Function {
    /// Keeps the fields the platform owns (`id`, `name`, `dateCreated`, `zipId`) from `old`
    /// where it has them: a client cannot change them by sending others.
    pub fn keep_owned(&mut self, old: &Function) {
        let owned = [
            (&mut self.id, &old.id),
            (&mut self.name, &old.name),
            (&mut self.date_created, &old.date_created),
            (&mut self.zip_id, &old.zip_id),
        ];
        for (new, old) in owned {
            if old.is_some() {
                new.clone_from(old);
            }
        }
    }
}

/// `ActionContractInput`: a draft's contract as written. Closed at its top level (`input`,
/// `output`, both required: the read shape `ActionContract` has the same two), open below.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionContractInput {
    pub input: InputContract,
    pub output: OutputContract,
}

/// `PostInputContract` (`inputSchema`, required), keeping what the read shape adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputContract {
    pub input_schema: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PostOutputContract` (`successSchema`, required), keeping what the read shape adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputContract {
    pub success_schema: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Requests and answers

/// `ActionConfig`: the timeout, and the request and response sections as JSON objects. Open:
/// fields the contract does not list are kept (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionConfig {
    /// Whole seconds; checked (1..=60, never on a custom authentication action) by the routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// `RequestConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Map<String, Value>>,
    /// `ResponseConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ActionConfig {
    /// The JSON path of the first field the contract types as text (or as a map of text) that
    /// holds something else, if any: `config.request.requestTemplate`, `config.request.headers`...
    pub fn mistyped(&self) -> Option<String> {
        let sections = [
            ("request", self.request.as_ref()),
            ("response", self.response.as_ref()),
        ];
        for (name, section) in sections {
            let Some(section) = section else { continue };
            for (key, value) in section {
                let ok = match key.as_str() {
                    "requestTemplate" | "requestTemplateUri" | "requestUrlTemplate"
                    | "requestType" | "successTemplate" | "successTemplateUri" => value.is_string(),
                    "headers" | "translationMap" | "translationMapDefaults" => value
                        .as_object()
                        .is_some_and(|map| map.values().all(Value::is_string)),
                    _ => true,
                };
                if !ok {
                    return Some(format!("config.{name}.{key}"));
                }
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Answers

/// `Action`, as the actions routes answer it (and a draft, in the same shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub id: String,
    pub name: String,
    pub integration_id: String,
    pub category: String,
    pub version: i64,
    pub secure: bool,
    /// Only with `includeConfig=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    /// Only with `expand=contract`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<Value>,
    pub self_uri: String,
}

/// What `GET /sandbox/actions` shows of one action: the action with its config and contract, and
/// its function settings and draft when it has them. Not an API shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectedAction {
    #[serde(flatten)]
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<InspectedDraft>,
}

/// The draft part of an [`InspectedAction`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectedDraft {
    pub name: String,
    pub category: String,
    pub version: i64,
    pub secure: bool,
    pub config: ActionConfig,
    pub contract: Value,
    /// `null` when the draft has none.
    pub function: Option<FunctionConfig>,
}

/// `FunctionConfig`, from `GET .../function` and `GET/PUT .../draft/function`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<Function>,
    /// The action's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<FunctionZipConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_exception_history: Option<Vec<FunctionZipConfig>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `FunctionZipConfig`: the uploaded zip and its state (`Available` once usable).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionZipConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `DraftValidationResult`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftValidationResult {
    pub valid: bool,
    pub errors: Vec<ErrorBody>,
}

/// `Integration`, as `GET /api/v2/integrations` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub id: String,
    pub name: String,
    pub integration_type: IntegrationType,
    pub intended_state: String,
    pub self_uri: String,
}

/// `IntegrationType`, as an integration carries it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationType {
    pub id: String,
    pub name: String,
    pub self_uri: String,
}

/// A page of `ActionEntityListing` / `IntegrationEntityListing`. The counting fields (`total`,
/// `pageCount`, `lastUri`) are absent under the `paging=next-uri` variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityListing<T> {
    pub entities: Vec<T>,
    pub page_size: u32,
    pub page_number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u32>,
    pub first_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
    pub self_uri: String,
}

/// `ErrorBody`, the notes' error body: every non-2xx answer of `/api/v2` carries one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub message: String,
    pub code: String,
    pub status: u16,
    pub context_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_params: Option<BTreeMap<String, String>>,
    pub details: Vec<Detail>,
    pub errors: Vec<ErrorBody>,
}

/// `Detail` of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub error_code: String,
    pub field_name: String,
}

/// `POST /oauth/token` success.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

/// `POST /oauth/token` failure (`invalid_client`, `invalid_request` "rate limit exceeded", ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OAuthError {
    pub error: String,
    pub description: String,
    pub error_description: String,
}

// ---------------------------------------------------------------------------------------------
// Field names, asked of serde

/// The fields a derived `Deserialize` of a struct (without `flatten`) reads, as named on the wire:
/// serde passes them to `deserialize_struct`, where this deserializer notes them and stops.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const CONTRACT: &str = include_str!("../../tests/contract/genesys-actions-openapi.json");

    fn definition(name: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let contract: Value = serde_json::from_str(CONTRACT).unwrap();
        let definition = &contract["definitions"][name];
        let properties = definition["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("the contract defines {name}"))
            .keys()
            .cloned()
            .collect();
        let required = definition["required"]
            .as_array()
            .map(|r| r.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        (properties, required)
    }

    fn names(fields: &[&str]) -> BTreeSet<String> {
        fields.iter().map(|f| (*f).to_owned()).collect()
    }

    fn check<T: RequestBody>() {
        let (properties, required) = definition(T::NAME);
        assert_eq!(
            names(field_names::<T>()),
            properties,
            "fields of {}",
            T::NAME
        );
        assert_eq!(
            names(T::REQUIRED),
            required,
            "required fields of {}",
            T::NAME
        );
    }

    #[test]
    fn request_bodies_have_exactly_the_contracts_fields_and_required_fields() {
        check::<UpdateActionInput>();
        check::<UpdateDraftInput>();
        check::<PublishDraftInput>();
        check::<Function>();
    }

    #[test]
    fn a_contract_input_has_the_contracts_top_level_fields() {
        let (properties, required) = definition("ActionContractInput");
        assert_eq!(names(field_names::<ActionContractInput>()), properties);
        assert_eq!(required, names(&["input", "output"]));
    }

    #[test]
    fn answers_name_only_fields_of_the_contract() {
        let action = Action {
            id: "a".into(),
            name: "n".into(),
            integration_id: "i".into(),
            category: "c".into(),
            version: 1,
            secure: false,
            config: Some(ActionConfig::default()),
            contract: Some(Value::Object(Map::new())),
            self_uri: "/x".into(),
        };
        let function = FunctionConfig {
            function: Some(Function {
                id: Some("f".into()),
                name: Some("n".into()),
                description: Some("d".into()),
                date_created: Some("2025-01-01T00:00:00Z".into()),
                zip_id: Some("z".into()),
                handler: Some("h".into()),
                runtime: Some("r".into()),
                timeout_seconds: Some(15),
            }),
            id: Some("a".into()),
            zip: Some(FunctionZipConfig::default()),
            upload_exception_history: Some(vec![]),
            self_uri: Some("/x".into()),
        };
        let shown = [
            ("Action", serde_json::to_value(&action).unwrap()),
            ("FunctionConfig", serde_json::to_value(&function).unwrap()),
            (
                "Function",
                serde_json::to_value(&function.function).unwrap(),
            ),
        ];
        for (name, value) in shown {
            let (properties, _) = definition(name);
            let keys = value.as_object().unwrap().keys().cloned().collect();
            assert!(properties.is_superset(&keys), "{name}: {keys:?}");
        }
    }

    #[test]
    fn field_names_of_a_non_struct_are_none() {
        assert!(field_names::<String>().is_empty());
    }
}
