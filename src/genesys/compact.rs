//! Actions as dactl holds them in bulk: `CompactAction` has the fields of `models::Action` that
//! dactl reads (id, name, category, integration, version, secure, the timeout), typed, and keeps
//! everything it only carries (the request and response processing, unknown fields) as compact
//! JSON text instead of `serde_json::Value` trees.
//!
//! Why: a listed action is about 0.8 KB of JSON on the wire, but about 3.7 KB as a `Value` tree
//! (every key and string its own allocation, every object an `IndexMap`), and a run holds every
//! listed action until it ends. Kept as text, nothing is dropped or reordered: `to_action` gives
//! back exactly the `Action` that was decoded (a property test checks the round trip), and a
//! write unpacks only the action it writes, for as long as it writes it.
//!
//! The wire models stay `Value` maps: the sandbox builds and edits configs through them, and a
//! single action read or written is small.

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::genesys::models::{Action, ActionConfig};

/// A JSON object kept as its compact text; the empty object is kept as nothing at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonObject(Option<Box<str>>);

impl JsonObject {
    pub fn from_map(map: &Map<String, Value>) -> JsonObject {
        if map.is_empty() {
            return JsonObject(None);
        }
        // A map with string keys always serialises.
        let text = serde_json::to_string(map).unwrap_or_default();
        JsonObject(Some(text.into_boxed_str()))
    }

    /// The object again, as it was given to `from_map`.
    pub fn to_map(&self) -> Map<String, Value> {
        match &self.0 {
            None => Map::new(),
            // The text was written by `from_map`, so it parses: an error here is a dactl bug,
            // and dropping the fields silently would be worse than stopping.
            Some(text) => serde_json::from_str(text).expect("compact JSON written by dactl"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The text of a string field of the object, if it has one.
    fn text(&self, key: &str) -> Option<String> {
        self.0.as_ref()?;
        self.to_map().get(key)?.as_str().map(str::to_owned)
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::<String, Value>::deserialize(deserializer).map(|map| JsonObject::from_map(&map))
    }
}

/// `models::ActionConfig` with the request and response processing and unknown fields kept as
/// text. Same JSON shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<JsonObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<JsonObject>,
    #[serde(flatten)]
    extra: JsonObject,
}

impl CompactConfig {
    /// The config whole, as it was read.
    pub fn to_config(&self) -> ActionConfig {
        ActionConfig {
            timeout_seconds: self.timeout_seconds,
            request: self.request.as_ref().map(JsonObject::to_map),
            response: self.response.as_ref().map(JsonObject::to_map),
            extra: self.extra.to_map(),
        }
    }

    fn uri_only(section: &Option<JsonObject>, text_key: &str, uri_key: &str) -> Option<String> {
        let section = section.as_ref()?;
        match section.text(text_key) {
            Some(_) => None,
            None => section.text(uri_key),
        }
    }

    /// As `ActionConfig::request_template_uri_only`.
    pub fn request_template_uri_only(&self) -> Option<String> {
        Self::uri_only(&self.request, "requestTemplate", "requestTemplateUri")
    }

    /// As `ActionConfig::success_template_uri_only`.
    pub fn success_template_uri_only(&self) -> Option<String> {
        Self::uri_only(&self.response, "successTemplate", "successTemplateUri")
    }
}

impl From<&ActionConfig> for CompactConfig {
    fn from(config: &ActionConfig) -> CompactConfig {
        CompactConfig {
            timeout_seconds: config.timeout_seconds,
            request: config.request.as_ref().map(JsonObject::from_map),
            response: config.response.as_ref().map(JsonObject::from_map),
            extra: JsonObject::from_map(&config.extra),
        }
    }
}

/// `models::Action` as dactl holds it (see the module doc). Same JSON shape, field for field and
/// in the same order, so it decodes straight from a listing page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactAction {
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
    pub config: Option<CompactConfig>,
    #[serde(flatten)]
    extra: JsonObject,
}

impl CompactAction {
    /// The action whole, exactly as it was read.
    pub fn to_action(&self) -> Action {
        Action {
            id: self.id.clone(),
            name: self.name.clone(),
            integration_id: self.integration_id.clone(),
            category: self.category.clone(),
            version: self.version,
            secure: self.secure,
            config: self.config.as_ref().map(CompactConfig::to_config),
            extra: self.extra.to_map(),
        }
    }

    /// The timeout of its config, when it has one set.
    pub fn timeout_seconds(&self) -> Option<i64> {
        self.config.as_ref().and_then(|c| c.timeout_seconds)
    }
}

impl From<&Action> for CompactAction {
    fn from(action: &Action) -> CompactAction {
        CompactAction {
            id: action.id.clone(),
            name: action.name.clone(),
            integration_id: action.integration_id.clone(),
            category: action.category.clone(),
            version: action.version,
            secure: action.secure,
            config: action.config.as_ref().map(CompactConfig::from),
            extra: JsonObject::from_map(&action.extra),
        }
    }
}

impl From<Action> for CompactAction {
    fn from(action: Action) -> CompactAction {
        CompactAction::from(&action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn action(value: Value) -> Action {
        serde_json::from_value(value).unwrap()
    }

    fn sample() -> Value {
        json!({
            "id": "a1", "name": "Get Order", "integrationId": "i1", "category": "Shop",
            "version": 3, "secure": false,
            "config": {
                "timeoutSeconds": 12,
                "request": {"requestUrlTemplate": "/x", "requestType": "GET",
                            "headers": {"B": "2", "A": "1"},
                            "requestTemplateUri": "/api/v2/integrations/actions/a1/templates/requesttemplate.vm"},
                "response": {"translationMap": {}, "successTemplate": "${rawResult}", "ratio": 0.1},
                "retryOnFailure": false, "futureField": [1, {"z": null}]
            },
            "contract": {"input": {"inputSchema": {"type": "object"}}},
            "selfUri": "/api/v2/integrations/actions/a1"
        })
    }

    #[test]
    fn an_action_decoded_compact_is_the_action_decoded_whole() {
        let whole = action(sample());
        let compact: CompactAction = serde_json::from_value(sample()).unwrap();
        assert_eq!(compact.to_action(), whole);
        assert_eq!(CompactAction::from(&whole), compact);
        // The same JSON, key order included.
        assert_eq!(
            serde_json::to_string(&compact).unwrap(),
            serde_json::to_string(&whole).unwrap()
        );
        let config = compact.config.as_ref().unwrap();
        assert_eq!(
            config.request_template_uri_only().as_deref(),
            Some("/api/v2/integrations/actions/a1/templates/requesttemplate.vm")
        );
        assert_eq!(config.success_template_uri_only(), None);
        assert_eq!(compact.timeout_seconds(), Some(12));
    }

    #[test]
    fn absent_null_and_empty_sections_stay_apart() {
        for value in [
            json!({"id": "a"}),
            json!({"id": "a", "config": {}}),
            json!({"id": "a", "config": {"request": null, "response": {}}}),
            json!({"id": "a", "config": {"request": {}}, "x": {}}),
        ] {
            let compact: CompactAction = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(compact.to_action(), action(value.clone()), "{value}");
            assert_eq!(
                serde_json::to_value(&compact).unwrap(),
                serde_json::to_value(action(value.clone())).unwrap()
            );
        }
    }

    #[test]
    fn a_wrong_type_is_refused_with_its_path_as_before() {
        let bad = r#"{"id": "a", "config": {"request": "text"}}"#;
        let whole = serde_json::from_str::<Action>(bad).unwrap_err();
        let compact = serde_json::from_str::<CompactAction>(bad).unwrap_err();
        assert!(compact.to_string().contains("expected a map"), "{compact}");
        assert!(whole.to_string().contains("expected a map"), "{whole}");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Any bit pattern: most have exponents far from 0, where a parser that is not exact
            // reads back another float than the one written.
            any::<u64>()
                .prop_map(f64::from_bits)
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec(("[a-zA-Z$]{1,6}", inner), 0..5)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    fn object() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec(("[a-zA-Z]{1,8}", json_value()), 0..6)
            .prop_map(|pairs| pairs.into_iter().collect())
    }

    proptest! {
        /// Whatever the request, response and unknown fields hold (floats at full precision,
        /// any key order), packing and unpacking gives the action back unchanged.
        #[test]
        fn packing_keeps_every_field(
            request in object(), response in object(), config_extra in object(),
            extra in object(), timeout in proptest::option::of(any::<i64>()),
        ) {
            let mut extra = extra;
            // Keys that are typed fields of `Action` would not be unknown fields.
            for key in ["id", "name", "integrationId", "category", "version", "secure", "config"] {
                extra.remove(key);
            }
            let mut config_extra = config_extra;
            for key in ["timeoutSeconds", "request", "response"] {
                config_extra.remove(key);
            }
            let whole = Action {
                id: "a".into(),
                name: Some("n".into()),
                integration_id: None,
                category: Some("c".into()),
                version: Some(1),
                secure: None,
                config: Some(ActionConfig {
                    timeout_seconds: timeout,
                    request: Some(request),
                    response: Some(response),
                    extra: config_extra,
                }),
                extra,
            };
            let compact = CompactAction::from(&whole);
            prop_assert_eq!(&compact.to_action(), &whole);
            let wire = serde_json::to_string(&whole).unwrap();
            let decoded: CompactAction = serde_json::from_str(&wire).unwrap();
            prop_assert_eq!(decoded.to_action(), serde_json::from_str::<Action>(&wire).unwrap());
        }
    }
}
