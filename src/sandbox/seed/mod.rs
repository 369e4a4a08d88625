//! Seed data: an org that looks like a real one.
//!
//! The default org is a hand-written table of about forty actions over six integrations (two web
//! services integrations, Genesys Cloud, Salesforce, Zendesk, function data actions). Generated orgs
//! (`actions: Some(n)`) draw from the same kinds, names and template shapes with a seeded
//! `fastrand::Rng`, so the same seed always gives the same org. Both mixes include what a careful
//! client must handle: unset timeouts, timeouts across 1..=60, static (built-in) actions, a custom
//! authentication action, template text that must survive byte for byte (CRLF line ends,
//! trailing spaces, non-ASCII, success templates that are valid JSON), and fields no model knows
//! (`request.extraFeature`, `response.cacheSettings`, `config.retryOnFailure`). How reads show the
//! template text (by URI or inline) is the `templates` variant's business, not the seed's.

use serde_json::{Map, Value, json};

use super::state::{Body, Integration, StoredAction, uuid_like};
use super::wire::{ActionConfig, Function, FunctionConfig, FunctionZipConfig};

mod table;

use Kind::*;
use table::{FUNCTION_TIMEOUTS, Kind, SPECS, Spec, TIMEOUTS, spec};

const WEB_A: &str = "0d1a4f5e-2c3b-4a59-9e7d-6f1b2c3d4e51";
const WEB_B: &str = "1e2b5a6f-3d4c-4b6a-8f8e-7a2c3d4e5f62";
const GENESYS: &str = "2f3c6b7a-4e5d-4c7b-9a9f-8b3d4e5f6a73";
const SALESFORCE: &str = "3a4d7c8b-5f6e-4d8c-8bab-9c4e5f6a7b84";
const ZENDESK: &str = "4b5e8d9c-6a7f-4e9d-9cbc-ad5f6a7b8c95";
const FUNCTIONS: &str = "5c6f9eab-7b8a-4fae-8dcd-be6a7b8c9da6";

pub fn integrations() -> Vec<Integration> {
    let make = |id: &str, name: &str, type_id: &str, type_name: &str| Integration {
        id: id.into(),
        name: name.into(),
        type_id: type_id.into(),
        type_name: type_name.into(),
    };
    vec![
        make(
            WEB_A,
            "Acme Web Services",
            "custom-rest-actions",
            "Web Services Data Actions",
        ),
        make(
            WEB_B,
            "Northgrid Field Ops",
            "custom-rest-actions",
            "Web Services Data Actions",
        ),
        make(
            GENESYS,
            "Genesys Cloud Data Actions",
            "purecloud-data-actions",
            "Genesys Cloud Data Actions",
        ),
        make(
            SALESFORCE,
            "Salesforce Data Actions",
            "salesforce-datadip",
            "Salesforce Data Actions",
        ),
        make(
            ZENDESK,
            "Zendesk Data Actions",
            "zendesk-datadip",
            "Zendesk Data Actions",
        ),
        make(
            FUNCTIONS,
            "Function Data Actions",
            "function-data-actions",
            "Function Data Actions",
        ),
    ]
}

/// The integration an action of this row belongs to; web services rows go by the host they call.
fn integration_for(spec: &Spec) -> &'static str {
    match spec.kind {
        WebServices if spec.url.contains("northgrid") => WEB_B,
        WebServices => WEB_A,
        GenesysCloud => GENESYS,
        Salesforce => SALESFORCE,
        Zendesk => ZENDESK,
        Function => FUNCTIONS,
    }
}

fn category_of(integration_id: &str) -> String {
    integrations()
        .into_iter()
        .find(|i| i.id == integration_id)
        .map(|i| i.name)
        .unwrap_or_default()
}

/// The hand-written org: the table above, two static actions and one custom authentication action.
pub fn default_org() -> Vec<StoredAction> {
    // Ids are drawn from a fixed seed so the default org is the same in every run.
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut actions = Vec::new();
    for (index, spec) in SPECS.iter().enumerate() {
        let id = uuid_like(&mut rng);
        let shape = Shape {
            timeout: TIMEOUTS[index % TIMEOUTS.len()],
            function_timeout: FUNCTION_TIMEOUTS[index % FUNCTION_TIMEOUTS.len()],
            extra_fields: index % 4 == 1,
            style: TemplateStyle {
                crlf: index % 3 == 0,
                trailing_spaces: index % 4 == 1,
                non_ascii: index % 5 == 2,
                json_success: index % 2 == 0,
            },
            secure: spec.name.contains("PIN") || spec.name.contains("Fraud"),
        };
        let integration = integration_for(spec);
        actions.push(build(&id, spec, integration, &shape, &mut rng));
    }
    actions.extend(static_actions());
    actions.push(custom_auth_action(WEB_A, &uuid_like(&mut rng)));
    actions
}

/// `n` listable actions drawn from the same mix, plus one custom authentication action (hidden
/// from listings unless `includeAuthActions=true`). Same `seed`, same org.
pub fn generated_org(n: usize, seed: u64) -> Vec<StoredAction> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut actions = Vec::with_capacity(n + 1);
    for index in 0..n {
        let id = uuid_like(&mut rng);
        let spec = &SPECS[rng.usize(0..SPECS.len())];
        // About one in forty is a built-in action.
        if rng.u32(0..40) == 0 {
            let mut action = build_static(&format!("static_{}", id.replace('-', "")), spec);
            action.name = format!("{} {}", spec.name, index + 1);
            actions.push(action);
            continue;
        }
        let timeout = match rng.u32(0..3) {
            0 => None,
            _ => Some(rng.i64(1..=60)),
        };
        let shape = Shape {
            timeout,
            function_timeout: FUNCTION_TIMEOUTS[rng.usize(0..FUNCTION_TIMEOUTS.len())],
            extra_fields: rng.u32(0..4) == 0,
            style: TemplateStyle {
                crlf: rng.u32(0..3) == 0,
                trailing_spaces: rng.u32(0..4) == 0,
                non_ascii: rng.u32(0..5) == 0,
                json_success: rng.bool(),
            },
            secure: rng.u32(0..10) == 0,
        };
        let integration = integration_for(spec);
        let mut action = build(&id, spec, integration, &shape, &mut rng);
        action.name = format!("{} {}", spec.name, index + 1);
        actions.push(action);
    }
    actions.push(custom_auth_action(WEB_A, &uuid_like(&mut rng)));
    actions
}

struct Shape {
    timeout: Option<i64>,
    function_timeout: Option<i64>,
    extra_fields: bool,
    secure: bool,
    style: TemplateStyle,
}

/// How an action's template text is written: the sandbox must keep every byte of it, so seeds
/// include what a careless client would change: CRLF line ends, trailing spaces, non-ASCII text,
/// and success templates that are valid JSON themselves (a client must not parse them).
#[derive(Debug, Clone, Copy, Default)]
struct TemplateStyle {
    crlf: bool,
    trailing_spaces: bool,
    non_ascii: bool,
    json_success: bool,
}

fn build(
    id: &str,
    spec: &Spec,
    integration_id: &str,
    shape: &Shape,
    rng: &mut fastrand::Rng,
) -> StoredAction {
    let mut request = Map::new();
    let url = match spec.kind {
        // Read only for function integrations; the platform sets it when a draft is created.
        Function => format!("https://functions.local/actions/{id}/invoke"),
        _ => spec.url.to_owned(),
    };
    request.insert("requestUrlTemplate".into(), url.into());
    request.insert("requestType".into(), spec.method.into());
    request.insert("headers".into(), headers(spec.kind, spec.method));
    request.insert(
        "requestTemplate".into(),
        request_template(spec, shape.style).into(),
    );
    let mut response = Map::new();
    response.insert("translationMap".into(), translation_map(spec));
    response.insert("translationMapDefaults".into(), translation_defaults(spec));
    response.insert(
        "successTemplate".into(),
        success_template(spec, shape.style).into(),
    );

    let mut extra = Map::new();
    if shape.extra_fields {
        request.insert(
            "extraFeature".into(),
            json!({ "mode": "strict", "retainHeaders": ["X-Request-Id"] }),
        );
        response.insert(
            "cacheSettings".into(),
            json!({ "enabled": true, "ttlSeconds": 300 }),
        );
        extra.insert("retryOnFailure".into(), Value::Bool(false));
    }

    let function = (spec.kind == Function).then(|| function_config(id, spec, shape, rng));
    StoredAction {
        id: id.to_owned(),
        name: spec.name.to_owned(),
        integration_id: integration_id.to_owned(),
        category: category_of(integration_id),
        version: 1 + rng.i64(0..6),
        secure: shape.secure,
        custom_auth: false,
        body: Body::from_config(
            ActionConfig {
                timeout_seconds: shape.timeout,
                request: Some(request),
                response: Some(response),
                extra,
            },
            &format!("/api/v2/integrations/actions/{id}/templates"),
        ),
        contract: contract(spec),
        function,
        draft: None,
    }
}

fn headers(kind: Kind, method: &str) -> Value {
    match kind {
        GenesysCloud => json!({ "UserAgent": "PureCloudIntegrations/1.0" }),
        _ if method == "GET" => json!({ "Accept": "application/json" }),
        _ => json!({ "Content-Type": "application/json", "Accept": "application/json" }),
    }
}

fn request_template(spec: &Spec, style: TemplateStyle) -> String {
    if spec.method == "GET" {
        return "${input.rawRequest}".to_owned();
    }
    let mut lines: Vec<String> = spec
        .inputs
        .iter()
        .map(|name| format!("  \"{name}\": \"${{esc.jsonString(${{input.{name}}})}}\""))
        .collect();
    if style.non_ascii {
        lines.push("  \"note\": \"Grüße aus Zürich – ¿qué tal? 日本語 ✓\"".to_owned());
    }
    if style.trailing_spaces {
        for line in lines.iter_mut().step_by(2) {
            line.push_str("  ");
        }
    }
    let end = if style.crlf { "\r\n" } else { "\n" };
    let body = lines.join(&format!(",{end}"));
    format!("{{{end}{body}{end}}}{}", if style.crlf { end } else { "" })
}

fn success_template(spec: &Spec, style: TemplateStyle) -> String {
    let fields: Vec<String> = spec
        .outputs
        .iter()
        .map(|name| {
            if style.json_success {
                format!("\"{name}\": \"${{{name}}}\"")
            } else {
                format!("\"{name}\": ${{{name}}}")
            }
        })
        .collect();
    let text = format!("{{{}}}", fields.join(", "));
    if style.trailing_spaces {
        format!("{text}  \n")
    } else {
        text
    }
}

fn translation_map(spec: &Spec) -> Value {
    let map: Map<String, Value> = spec
        .outputs
        .iter()
        .map(|name| (name.to_string(), Value::String(format!("$.{name}"))))
        .collect();
    Value::Object(map)
}

fn translation_defaults(spec: &Spec) -> Value {
    let map: Map<String, Value> = spec
        .outputs
        .iter()
        .take(1)
        .map(|name| (name.to_string(), Value::String("\"\"".into())))
        .collect();
    Value::Object(map)
}

fn contract(spec: &Spec) -> Value {
    let schema = |title: &str, names: &[&str], required: bool| {
        let properties: Map<String, Value> = names
            .iter()
            .map(|n| (n.to_string(), json!({ "type": "string", "description": n })))
            .collect();
        let mut doc = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "title": title,
            "type": "object",
            "properties": properties,
            // `{}` rather than `true` (the same in JSON Schema): the contract types a
            // JsonSchemaDocument's `additionalProperties` as an object.
            "additionalProperties": {},
        });
        if required {
            doc["required"] = json!(names);
        }
        doc
    };
    json!({
        "input": { "inputSchema": schema(&format!("{} Request", spec.name), spec.inputs, true) },
        "output": { "successSchema": schema(&format!("{} Response", spec.name), spec.outputs, false) },
    })
}

fn function_config(
    id: &str,
    spec: &Spec,
    shape: &Shape,
    rng: &mut fastrand::Rng,
) -> FunctionConfig {
    let zip_id = uuid_like(rng);
    let function = Function {
        id: Some(uuid_like(rng)),
        name: Some(format!("dataaction-{id}")),
        description: Some(format!("{} handler", spec.name)),
        date_created: Some("2025-03-14T09:26:53.000Z".into()),
        zip_id: Some(zip_id.clone()),
        handler: Some("src/index.handler".into()),
        runtime: Some("nodejs22.x".into()),
        timeout_seconds: Some(shape.function_timeout.unwrap_or(15)),
    };
    FunctionConfig {
        function: Some(function),
        id: Some(id.into()),
        zip: Some(FunctionZipConfig {
            id: Some(zip_id),
            name: Some(format!(
                "{}.zip",
                spec.name.to_lowercase().replace(' ', "-")
            )),
            status: Some("Available".into()),
            date_created: Some("2025-03-14T09:26:40.000Z".into()),
            ..FunctionZipConfig::default()
        }),
        upload_exception_history: None,
        self_uri: Some(format!("/api/v2/integrations/actions/{id}/function")),
    }
}

/// Built-in actions: ids start with `static`, and the platform refuses every change to them.
fn static_actions() -> Vec<StoredAction> {
    vec![
        build_static(
            "static_salesforce_get_contact_by_phone",
            &spec(
                Salesforce,
                "Salesforce Get Contact by Phone (built-in)",
                "GET",
                "/services/data/v58.0/search/?q=FIND+{${input.phoneNumber}}+IN+PHONE+FIELDS",
                &["phoneNumber"],
                &["contactId", "contactName"],
            ),
        ),
        build_static(
            "static_zendesk_get_user_by_phone",
            &spec(
                Zendesk,
                "Zendesk Get User by Phone (built-in)",
                "GET",
                "/api/v2/search.json?query=type:user+phone:${input.phoneNumber}",
                &["phoneNumber"],
                &["userId", "name"],
            ),
        ),
    ]
}

fn build_static(id: &str, spec: &Spec) -> StoredAction {
    let shape = Shape {
        timeout: None,
        function_timeout: None,
        extra_fields: false,
        secure: false,
        style: TemplateStyle::default(),
    };
    let integration = integration_for(spec);
    let mut rng = fastrand::Rng::with_seed(id.len() as u64);
    let mut action = build(id, spec, integration, &shape, &mut rng);
    action.version = 1;
    action
}

/// A web services integration's custom authentication action: it fetches a token for the
/// integration's other actions. Listed only with `includeAuthActions=true`; a timeout is invalid.
fn custom_auth_action(integration_id: &str, id: &str) -> StoredAction {
    let mut request = Map::new();
    request.insert(
        "requestUrlTemplate".into(),
        "https://auth.acme.example/oauth2/token".into(),
    );
    request.insert("requestType".into(), "POST".into());
    request.insert(
        "headers".into(),
        json!({
            "Authorization": "Basic ${encoding.base64(\"${credentials.clientId}:${credentials.clientSecret}\")}",
            "Content-Type": "application/x-www-form-urlencoded",
        }),
    );
    request.insert(
        "requestTemplate".into(),
        "grant_type=client_credentials".into(),
    );
    let mut response = Map::new();
    response.insert(
        "translationMap".into(),
        json!({ "tokenValue": "$.access_token", "tokenType": "$.token_type" }),
    );
    response.insert("translationMapDefaults".into(), json!({}));
    response.insert(
        "successTemplate".into(),
        "{ \"token\": ${tokenValue}, \"tokenType\": ${tokenType} }".into(),
    );
    StoredAction {
        id: id.to_owned(),
        name: format!("{} Custom Auth", category_of(integration_id)),
        integration_id: integration_id.to_owned(),
        category: category_of(integration_id),
        version: 2,
        secure: true,
        custom_auth: true,
        body: Body::from_config(
            ActionConfig {
                timeout_seconds: None,
                request: Some(request),
                response: Some(response),
                extra: Map::new(),
            },
            &format!("/api/v2/integrations/actions/{id}/templates"),
        ),
        contract: json!({
            "input": { "inputSchema": { "type": "object", "properties": {} } },
            "output": { "successSchema": { "type": "object", "properties": {
                "token": { "type": "string" }, "tokenType": { "type": "string" } } } },
        }),
        function: None,
        draft: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_org_has_the_promised_mix() {
        let org = default_org();
        assert!((38..=45).contains(&org.len()), "{} actions", org.len());
        assert_eq!(org.iter().filter(|a| a.is_static()).count(), 2);
        assert_eq!(org.iter().filter(|a| a.custom_auth).count(), 1);
        // Template text a client must keep byte for byte.
        let texts: Vec<&String> = org.iter().flat_map(|a| a.body.templates.values()).collect();
        assert!(texts.iter().any(|t| t.contains("\r\n")));
        assert!(
            texts
                .iter()
                .any(|t| t.contains("  \n") || t.contains("  \r\n"))
        );
        assert!(texts.iter().any(|t| !t.is_ascii()));
        assert!(
            texts
                .iter()
                .any(|t| serde_json::from_str::<Value>(t).is_ok_and(|v| v.is_object()))
        );
        assert!(org.iter().any(|a| a.body.config.timeout_seconds.is_none()));
        assert!(
            org.iter()
                .any(|a| a.body.config.timeout_seconds == Some(60))
        );
        assert!(org.iter().any(|a| a.function.is_some()));
        let ids: std::collections::BTreeSet<_> = org.iter().map(|a| &a.id).collect();
        assert_eq!(ids.len(), org.len(), "ids are unique");
    }

    #[test]
    fn generated_org_is_deterministic_for_a_seed() {
        let names = |seed| {
            generated_org(50, seed)
                .into_iter()
                .map(|a| (a.id, a.name, a.body.config.timeout_seconds))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(7), names(7));
        assert_ne!(names(7), names(8));
        assert_eq!(generated_org(50, 7).len(), 51);
    }
}
