//! The wire contract: every request dactl sends and every answer the sandbox gives, checked
//! against `tests/contract/genesys-actions-openapi.json` (a copy of the shared notes' Swagger 2.0
//! file; `tests/contract/README.md` says where it came from).
//!
//! A scenario under every value of every sandbox variant drives dactl's own client and binary
//! (and, for what dactl never sends, a few plain requests: `expand=contract`, a missing bearer
//! token, bad client credentials, paging by hand) against a sandbox that records every exchange
//! (`record_exchanges`, `GET /sandbox/exchanges`). Each exchange is then checked:
//! - its operation (method and matched route template) is one the contract has;
//! - every query parameter is one the operation lists, sent once unless it is a `multi` array,
//!   and integers, booleans and enums parse; required ones are there;
//! - the request body: JSON against the body parameter's schema, a form against the `formData`
//!   parameters, nothing where the operation takes no body;
//! - `Accept`, when sent, admits what the operation produces;
//! - the answer: its status is listed (else the `default` response is used; neither is a
//!   violation), its content type is the one the operation produces (`text/plain` for template
//!   text, JSON otherwise, errors included), and its body validates against that response's
//!   schema.
//!
//! Schemas: Swagger 2.0's schema object is JSON Schema draft 4 plus a few keywords of its own, so
//! the contract's `definitions` become a draft-4 document (`{"definitions", "allOf": [schema]}`)
//! with the `x-` extensions and Swagger-only keywords (`discriminator`, `readOnly`, `xml`,
//! `externalDocs`, `example`) dropped, and `format: int32` turned into its bounds (`int64` needs
//! none). Formats draft 4 knows (`date-time`) are validated. The contract lists no
//! `additionalProperties: false`, so fields it does not name are allowed, as on the platform.
//!
//! A violation fails the test with the exchange, the JSON path and the rule it broke.
//! `the_checker_catches_planted_violations` proves each rule can fail.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use dactl::genesys::analytics::{AggregationQuery, AggregationView, METRIC, QueryFilter};
use dactl::genesys::models::{
    Action, FUNCTION_INTEGRATION_TYPE, UpdateActionInput, UpdateDraftInput,
};
use dactl::genesys::{ActionQuery, Client, ClientOptions, Credentials, RetryPolicy, Target};
use dactl::sandbox::SandboxOptions;
use dactl::sandbox::variants::VARIANTS;
use dactl::secret::Secret;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::support::{Org, assert_code, dactl, path, temp_dir};

const CONTRACT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/contract/genesys-actions-openapi.json"
);

// ---------------------------------------------------------------------------------------------
// The checker

/// One exchange as `GET /sandbox/exchanges` shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Exchange {
    method: String,
    route: String,
    path: String,
    query: Option<String>,
    accept: Option<String>,
    request_content_type: Option<String>,
    request_body: String,
    status: u16,
    response_content_type: Option<String>,
    response_body: String,
}

/// The contract, with a compiled validator per schema it was asked about.
struct Contract {
    doc: Value,
    /// `definitions`, as draft-4 JSON Schema.
    definitions: Value,
    validators: HashMap<String, jsonschema::Validator>,
}

/// Swagger 2.0 schema keywords that JSON Schema does not have.
const SWAGGER_ONLY: &[&str] = &[
    "discriminator",
    "readOnly",
    "xml",
    "externalDocs",
    "example",
];

/// A Swagger 2.0 schema object as draft-4 JSON Schema (see the module doc).
fn json_schema(swagger: &Value) -> Value {
    let Value::Object(map) = swagger else {
        return swagger.clone();
    };
    let each = |value: &Value| -> Value {
        match value {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), json_schema(v)))
                .collect::<Map<_, _>>()
                .into(),
            other => other.clone(),
        }
    };
    let mut out = Map::new();
    for (key, value) in map {
        if key.starts_with("x-") || SWAGGER_ONLY.contains(&key.as_str()) {
            continue;
        }
        let converted = match key.as_str() {
            "properties" | "definitions" => each(value),
            "items" | "additionalProperties" | "not" => json_schema(value),
            "allOf" | "anyOf" | "oneOf" => value
                .as_array()
                .map(|all| all.iter().map(json_schema).collect::<Vec<_>>().into())
                .unwrap_or_else(|| value.clone()),
            "format" if matches!(value.as_str(), Some("int32" | "int64")) => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if map.get("format").and_then(Value::as_str) == Some("int32") {
        out.entry("minimum").or_insert(json!(i32::MIN));
        out.entry("maximum").or_insert(json!(i32::MAX));
    }
    Value::Object(out)
}

/// The media type of a content type: `text/plain; charset=utf-8` → `text/plain`.
fn media(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A query or form value against a simple (non-body) parameter or its `items`.
fn check_simple(param: &Value, text: &str) -> Result<(), String> {
    let kind = param["type"].as_str().unwrap_or("string");
    match kind {
        "integer" => {
            let n: i64 = text
                .parse()
                .map_err(|_| format!("`{text}` is not an integer"))?;
            if param["format"] == "int32" && i32::try_from(n).is_err() {
                return Err(format!("`{text}` is out of int32 range"));
            }
        }
        "number" => {
            text.parse::<f64>()
                .map_err(|_| format!("`{text}` is not a number"))?;
        }
        "boolean" if text != "true" && text != "false" => {
            return Err(format!("`{text}` is not a boolean (`true` or `false`)"));
        }
        _ => {}
    }
    let allowed = strings(&param["enum"]);
    let allowed = if allowed.is_empty() {
        // Integer enums and the like: compare as text.
        param["enum"]
            .as_array()
            .map(|l| l.iter().map(Value::to_string).collect())
            .unwrap_or_default()
    } else {
        allowed
    };
    if !allowed.is_empty() && !allowed.iter().any(|a| a == text) {
        return Err(format!("`{text}` is not one of {allowed:?}"));
    }
    Ok(())
}

impl Contract {
    fn load() -> Contract {
        let text = std::fs::read_to_string(CONTRACT).unwrap_or_else(|e| panic!("{CONTRACT}: {e}"));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["swagger"], "2.0", "{CONTRACT} is a Swagger 2.0 file");
        let definitions =
            json_schema(&json!({ "definitions": doc["definitions"] }))["definitions"].clone();
        Contract {
            doc,
            definitions,
            validators: HashMap::new(),
        }
    }

    /// What is wrong with `instance` under `schema` (a Swagger schema object), one line per error,
    /// each with its JSON path.
    fn validate(&mut self, schema: &Value, instance: &Value) -> Vec<String> {
        let schema = json_schema(schema);
        let Contract {
            definitions,
            validators,
            ..
        } = self;
        let validator = validators.entry(schema.to_string()).or_insert_with(|| {
            let root = json!({ "definitions": definitions, "allOf": [schema] });
            jsonschema::draft4::options()
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|e| panic!("the contract's schema {schema} does not compile: {e}"))
        });
        validator
            .iter_errors(instance)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".into() } else { at };
                format!("at `{at}`: {e}")
            })
            .collect()
    }

    /// Every rule `exchange` breaks (see the module doc); empty when it keeps them all.
    fn check(&mut self, x: &Exchange) -> Vec<String> {
        let Some(item) = self.doc["paths"].get(&x.route).cloned() else {
            return vec![format!("the contract has no path `{}`", x.route)];
        };
        let Some(operation) = item.get(x.method.to_lowercase()).cloned() else {
            return vec![format!(
                "the contract has no operation `{} {}`",
                x.method, x.route
            )];
        };
        let mut params: Vec<Value> = item["parameters"].as_array().cloned().unwrap_or_default();
        params.extend(
            operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        let mut problems = Vec::new();
        self.check_query(&params, x, &mut problems);
        self.check_request(&operation, &params, x, &mut problems);
        self.check_accept(&operation, x, &mut problems);
        self.check_response(&operation, x, &mut problems);
        problems
    }

    fn check_query(&self, params: &[Value], x: &Exchange, problems: &mut Vec<String>) {
        let listed: Vec<&Value> = params.iter().filter(|p| p["in"] == "query").collect();
        let names: Vec<&str> = listed.iter().filter_map(|p| p["name"].as_str()).collect();
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(x.query.as_deref().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (key, value) in &pairs {
            let Some(param) = listed.iter().find(|p| p["name"] == key.as_str()) else {
                problems.push(format!(
                    "query parameter `{key}` is not one the contract lists for this operation \
                     (it lists: {})",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ));
                continue;
            };
            let array = param["type"] == "array";
            let format = param["collectionFormat"].as_str().unwrap_or("csv");
            let count = seen.entry(key.as_str()).or_default();
            *count += 1;
            if *count == 2 && !(array && format == "multi") {
                problems.push(format!(
                    "query parameter `{key}` is sent more than once; the contract takes one"
                ));
            }
            let (item, values): (&Value, Vec<&str>) = match (array, format) {
                (false, _) => (param, vec![value.as_str()]),
                (true, "multi") => (&param["items"], vec![value.as_str()]),
                (true, "pipes") => (&param["items"], value.split('|').collect()),
                (true, "ssv") => (&param["items"], value.split(' ').collect()),
                (true, "tsv") => (&param["items"], value.split('\t').collect()),
                (true, _) => (&param["items"], value.split(',').collect()),
            };
            for v in values {
                if let Err(why) = check_simple(item, v) {
                    problems.push(format!("query parameter `{key}={value}`: {why}"));
                }
            }
        }
        for param in &listed {
            let name = param["name"].as_str().unwrap_or_default();
            if param["required"] == true && !seen.contains_key(name) {
                problems.push(format!("the required query parameter `{name}` is missing"));
            }
        }
    }

    fn consumes(&self, operation: &Value) -> Vec<String> {
        let own = strings(&operation["consumes"]);
        if own.is_empty() {
            strings(&self.doc["consumes"])
        } else {
            own
        }
    }

    fn produces(&self, operation: &Value) -> Vec<String> {
        let own = strings(&operation["produces"]);
        if own.is_empty() {
            strings(&self.doc["produces"])
        } else {
            own
        }
    }

    fn check_request(
        &mut self,
        operation: &Value,
        params: &[Value],
        x: &Exchange,
        problems: &mut Vec<String>,
    ) {
        let consumes = self.consumes(operation);
        let sent = media(x.request_content_type.as_deref());
        let empty = x.request_body.trim().is_empty();
        let form: Vec<&Value> = params.iter().filter(|p| p["in"] == "formData").collect();
        if let Some(param) = params.iter().find(|p| p["in"] == "body") {
            if empty {
                if param["required"] == true {
                    problems.push("the request has no body; the contract requires one".into());
                }
                return;
            }
            if !consumes.contains(&sent) {
                problems.push(format!(
                    "the request body is sent as `{sent}`; the operation consumes {consumes:?}"
                ));
            }
            match serde_json::from_str::<Value>(&x.request_body) {
                Err(e) => problems.push(format!("the request body is not JSON: {e}")),
                Ok(body) => {
                    for error in self.validate(&param["schema"], &body) {
                        problems.push(format!("request body {error}"));
                    }
                }
            }
        } else if !form.is_empty() {
            if !consumes.contains(&sent) {
                problems.push(format!(
                    "the form is sent as `{sent}`; the operation consumes {consumes:?}"
                ));
            }
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(x.request_body.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            for (key, value) in &pairs {
                match form.iter().find(|p| p["name"] == key.as_str()) {
                    None => problems.push(format!(
                        "form field `{key}` is not one the contract lists for this operation"
                    )),
                    Some(param) => {
                        if let Err(why) = check_simple(param, value) {
                            problems.push(format!("form field `{key}`: {why}"));
                        }
                    }
                }
            }
            for param in &form {
                let name = param["name"].as_str().unwrap_or_default();
                if param["required"] == true && !pairs.iter().any(|(k, _)| k == name) {
                    problems.push(format!("the required form field `{name}` is missing"));
                }
            }
        } else if !empty {
            problems.push("the operation takes no body, yet the request carries one".into());
        }
    }

    /// An `Accept` header must admit what the operation produces on success.
    fn check_accept(&self, operation: &Value, x: &Exchange, problems: &mut Vec<String>) {
        let Some(accept) = &x.accept else { return };
        let produces = self.produces(operation);
        let admits = accept.split(',').map(|m| media(Some(m))).any(|m| {
            m == "*/*"
                || produces.iter().any(|p| {
                    *p == m || (m.ends_with("/*") && p.starts_with(m.trim_end_matches('*')))
                })
        });
        if !admits {
            problems.push(format!(
                "`Accept: {accept}` admits none of what the operation produces ({produces:?})"
            ));
        }
    }

    fn check_response(&mut self, operation: &Value, x: &Exchange, problems: &mut Vec<String>) {
        if x.status == 0 {
            return; // The connection was dropped: nothing was answered.
        }
        let responses = &operation["responses"];
        let status = x.status.to_string();
        let Some(response) = responses.get(&status).or_else(|| responses.get("default")) else {
            let listed: Vec<&String> = responses
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            problems.push(format!(
                "status {status} is not one the contract lists for this operation ({listed:?}), \
                 and it has no `default` response"
            ));
            return;
        };
        let answered = media(x.response_content_type.as_deref());
        let Some(schema) = response.get("schema") else {
            if !x.response_body.trim().is_empty() {
                problems.push(format!(
                    "the contract gives status {status} no body, yet one came"
                ));
            }
            return;
        };
        let text = schema["type"] == "string"
            && self.produces(operation).iter().any(|p| p == "text/plain");
        let instance = if text {
            if answered != "text/plain" {
                problems.push(format!(
                    "answered as `{answered}`; the operation produces text/plain"
                ));
            }
            Value::String(x.response_body.clone())
        } else {
            if answered != "application/json" {
                problems.push(format!("answered as `{answered}`, not application/json"));
            }
            match serde_json::from_str(&x.response_body) {
                Ok(body) => body,
                Err(e) => {
                    problems.push(format!("the response body is not JSON: {e}"));
                    return;
                }
            }
        };
        for error in self.validate(schema, &instance) {
            problems.push(format!("response body {error}"));
        }
    }
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 800;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}… ({} characters in all)", text.chars().count())
}

fn show(x: &Exchange) -> String {
    let query = x
        .query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    format!(
        "{} {}{query} → {}\n    operation: {} {}\n    request ({}; Accept {}): {}\n    response ({}): {}",
        x.method,
        x.path,
        x.status,
        x.method,
        x.route,
        x.request_content_type
            .as_deref()
            .unwrap_or("no content type"),
        x.accept.as_deref().unwrap_or("absent"),
        excerpt(&x.request_body),
        x.response_content_type
            .as_deref()
            .unwrap_or("no content type"),
        excerpt(&x.response_body),
    )
}

/// Checks every exchange; fails naming each violation with its exchange.
fn assert_keeps_the_contract(what: &str, exchanges: &[Exchange]) {
    let mut contract = Contract::load();
    let mut report = Vec::new();
    for (n, x) in exchanges.iter().enumerate() {
        let problems = contract.check(x);
        if !problems.is_empty() {
            report.push(format!("#{n} {}\n  - {}", show(x), problems.join("\n  - ")));
        }
    }
    assert!(
        report.is_empty(),
        "{what}: {} of {} exchanges break the contract ({CONTRACT}):\n\n{}",
        report.len(),
        exchanges.len(),
        report.join("\n\n")
    );
    println!("{what}: {} exchanges keep the contract", exchanges.len());
}

// ---------------------------------------------------------------------------------------------
// The checker can fail

fn exchange(method: &str, route: &str, status: u16, body: &str) -> Exchange {
    Exchange {
        method: method.into(),
        route: route.into(),
        path: route
            .replace("{actionId}", "a1")
            .replace("{fileName}", "requesttemplate.vm"),
        query: None,
        accept: Some("application/json".into()),
        request_content_type: None,
        request_body: String::new(),
        status,
        response_content_type: Some("application/json".into()),
        response_body: body.into(),
    }
}

const ACTION: &str = "/api/v2/integrations/actions/{actionId}";
const TEMPLATE: &str = "/api/v2/integrations/actions/{actionId}/templates/{fileName}";

/// Each rule, broken once on purpose, is reported with its JSON path or name; a good exchange
/// passes. Without this, a checker that accepted everything would pass every scenario below.
#[test]
fn the_checker_catches_planted_violations() {
    let mut contract = Contract::load();
    let good = exchange(
        "GET",
        ACTION,
        200,
        r#"{"id":"a1","name":"n","version":3,"selfUri":"/api/v2/integrations/actions/a1"}"#,
    );
    assert_eq!(contract.check(&good), Vec::<String>::new());

    let mut with = |x: Exchange, needle: &str| {
        let problems = contract.check(&x);
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "`{needle}` not among {problems:?} for\n{}",
            show(&x)
        );
    };
    // A response field of the wrong type, named by its path.
    with(
        exchange("GET", ACTION, 200, r#"{"id":"a1","version":"3"}"#),
        "at `/version`",
    );
    with(
        exchange(
            "GET",
            ACTION,
            200,
            r#"{"id":"a1","config":{"request":{"headers":{"X":1}}}}"#,
        ),
        "at `/config/request/headers/X`",
    );
    // A status the operation does not list, with no default.
    with(
        exchange("GET", ACTION, 409, r#"{"status":409}"#),
        "status 409",
    );
    // An error body that is not an ErrorBody.
    with(
        exchange("GET", ACTION, 404, r#"{"status":"404"}"#),
        "at `/status`",
    );
    // Query parameters: unknown, a bad boolean, a bad integer, outside an enum, repeated.
    for (query, needle) in [
        ("bogus=1", "`bogus` is not one the contract lists"),
        ("includeConfig=yes", "not a boolean"),
        ("expand=everything", "not one of"),
        ("includeConfig=true&includeConfig=false", "more than once"),
    ] {
        let mut x = good.clone();
        x.query = Some(query.into());
        with(x, needle);
    }
    let mut x = exchange(
        "GET",
        "/api/v2/integrations/actions",
        200,
        r#"{"entities":[]}"#,
    );
    x.query = Some("pageSize=ten".into());
    with(x, "not an integer");
    // Template text served as JSON, and a template whose body is not what was asked.
    let mut x = exchange("GET", TEMPLATE, 200, "\"text\"");
    x.accept = Some("text/plain".into());
    with(x, "the operation produces text/plain");
    // An Accept header that refuses what the operation produces.
    let mut x = exchange("GET", TEMPLATE, 200, "text");
    x.response_content_type = Some("text/plain; charset=utf-8".into());
    with(x, "`Accept: application/json` admits none");
    // A PATCH without its required `version`, sent as something other than JSON.
    let mut x = exchange("PATCH", ACTION, 200, r#"{"id":"a1"}"#);
    x.request_content_type = Some("text/plain".into());
    x.request_body = r#"{"name":"n"}"#.into();
    with(x.clone(), "\"version\" is a required property");
    with(x, "sent as `text/plain`");
    // A body where the operation takes none; an operation the contract does not have.
    let mut x = exchange(
        "POST",
        "/api/v2/integrations/actions/{actionId}/draft",
        200,
        r#"{"id":"a1"}"#,
    );
    x.request_content_type = Some("application/json".into());
    x.request_body = r#"{"version":1}"#.into();
    with(x, "takes no body");
    with(
        exchange("PUT", ACTION, 200, r#"{"id":"a1"}"#),
        "no operation `PUT",
    );
    // The token endpoint: a form without `grant_type`, and a 200 without the token's shape.
    let mut x = exchange("POST", "/oauth/token", 200, r#"{"access_token":1}"#);
    x.request_content_type = Some("application/x-www-form-urlencoded".into());
    x.request_body = "grant_type=password".into();
    with(x.clone(), "not one of");
    with(x, "at `/access_token`");
    // A date-time that is not one.
    with(
        exchange(
            "GET",
            "/api/v2/integrations/actions/{actionId}/function",
            200,
            r#"{"function":{"description":"d","handler":"h","runtime":"r","dateCreated":"yesterday"}}"#,
        ),
        "at `/function/dateCreated`",
    );
}

/// CI runs on a clean clone; where `../shared/` is beside it, the copy must still be the file.
#[test]
fn the_contract_copy_is_the_shared_file_where_that_is_present() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/genesys-actions-openapi.json");
    let Ok(original) = std::fs::read(&shared) else {
        return; // No shared notes beside this checkout: the copy is all there is.
    };
    let copy = std::fs::read(CONTRACT).unwrap();
    assert!(
        copy == original,
        "{CONTRACT} differs from {}: copy the shared file over it (tests/contract/README.md)",
        shared.display()
    );
}

// ---------------------------------------------------------------------------------------------
// The scenario

/// Variant settings that together give every option every value (the first is the defaults).
const VARIANT_SETS: &[&str] = &[
    "",
    "templates=inline,template-on-missing=keep,conflict-status=409,token-error-status=401,paging=next-uri,percentiles=present",
    "templates=mixed",
];

#[test]
fn the_variant_sets_cover_every_value_of_every_option() {
    let mut covered = BTreeSet::new();
    for set in VARIANT_SETS {
        let mut variants = dactl::sandbox::Variants::default();
        variants.apply(set).unwrap();
        covered.extend(variants.values());
    }
    for doc in VARIANTS {
        for (value, _) in doc.values {
            assert!(
                covered.contains(&(doc.option, *value)),
                "no scenario runs {}={value}",
                doc.option
            );
        }
    }
}

#[test]
fn every_exchange_keeps_the_contract_under_the_default_variants() {
    scenario(VARIANT_SETS[0]);
}

#[test]
fn every_exchange_keeps_the_contract_under_the_other_values() {
    scenario(VARIANT_SETS[1]);
}

#[test]
fn every_exchange_keeps_the_contract_with_mixed_templates() {
    scenario(VARIANT_SETS[2]);
}

/// The read-only client every recording org also knows.
const READER: (&str, &str) = ("reader", "reader");

fn recording_org(variants: &str, rate_limit: u32) -> Org {
    let mut options = SandboxOptions {
        rate_limit,
        record_exchanges: true,
        read_only_clients: vec![(READER.0.into(), READER.1.into())],
        ..SandboxOptions::default()
    };
    options.variants.apply(variants).unwrap();
    Org::start(options)
}

fn client(org: &Org, credentials: Credentials, retry: RetryPolicy) -> Client {
    Client::new(ClientOptions {
        target: Target::local(org.sandbox.base_url()),
        credentials,
        rate_per_minute: 100_000,
        tokens: 1,
        concurrency: 4,
        retry,
        request_timeout: Duration::from_secs(10),
    })
    .unwrap()
}

fn credentials(id: &str, secret: &str) -> Credentials {
    Credentials::ClientCredentials {
        client_id: id.into(),
        client_secret: Secret::new(secret),
    }
}

fn exchanges(org: &Org) -> Vec<Exchange> {
    let url = format!("{}/sandbox/exchanges", org.url());
    let body: Value = org
        .rt
        .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
    assert_eq!(body["recording"], true);
    serde_json::from_value(body["exchanges"].clone()).unwrap()
}

/// A plain HTTP caller for what dactl never sends.
struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn token(
        http: &reqwest::Client,
        base: &str,
        id: &str,
        secret: &str,
    ) -> reqwest::Response {
        http.post(format!("{base}/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    }

    async fn new(org: &Org) -> Raw {
        let http = reqwest::Client::new();
        let base = org.url();
        let answer: Value = Raw::token(&http, &base, "sandbox", "sandbox")
            .await
            .json()
            .await
            .unwrap();
        let token = answer["access_token"].as_str().unwrap().to_owned();
        Raw { http, base, token }
    }

    /// GET `path_and_query` with the bearer token; the status and the body.
    async fn get(&self, path_and_query: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn status<T>(result: Result<T, dactl::genesys::Error>) -> Option<u16> {
    result.err().and_then(|e| e.status())
}

/// The action's config with every template it names only by URI read and put inline, and a new
/// timeout: what a safe write sends.
async fn writable(client: &Client, action: &Action, timeout: i64) -> UpdateActionInput {
    let mut config = action.config.clone().expect("read with its config");
    if config.request_template_uri_only().is_some() {
        let text = client
            .get_template(&action.id, "requesttemplate.vm")
            .await
            .unwrap();
        config
            .request
            .get_or_insert_with(Map::new)
            .insert("requestTemplate".into(), text.into());
    }
    if config.success_template_uri_only().is_some() {
        let text = client
            .get_template(&action.id, "successtemplate.vm")
            .await
            .unwrap();
        config
            .response
            .get_or_insert_with(Map::new)
            .insert("successTemplate".into(), text.into());
    }
    config.timeout_seconds = Some(timeout);
    UpdateActionInput {
        name: action.name.clone(),
        category: action.category.clone(),
        config: Some(config),
        version: action.version.unwrap(),
    }
}

/// Drives every operation dactl uses, and their error answers, under `variants`; then checks
/// every recorded exchange, and that the scenario reached what it meant to.
///
/// The exchanges are checked even when a step failed, and first: an answer that breaks the
/// contract (a `version` sent as a string, say) also breaks dactl's client, and the contract's
/// JSON path says more than the client's decode error.
fn scenario(variants: &str) {
    let conflict = if variants.contains("conflict-status=409") {
        409
    } else {
        400
    };
    let org = recording_org(variants, 100_000);
    // 3 requests a minute: the fourth gets a 429 from the rate limit.
    let throttled = recording_org(variants, 3);
    let driven = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(&org, &throttled, variants, conflict)
    }));
    let mut recorded = exchanges(&org);
    recorded.extend(exchanges(&throttled));
    assert_keeps_the_contract(&format!("variants `{variants}`"), &recorded);
    if let Err(panic) = driven {
        std::panic::resume_unwind(panic);
    }
    assert_reached(variants, conflict, &recorded);
}

fn drive(org: &Org, throttled: &Org, variants: &str, conflict: u16) {
    let dactl_client = client(
        org,
        credentials("sandbox", "sandbox"),
        RetryPolicy::default(),
    );

    org.rt.block_on(async {
        let c = &dactl_client;
        c.authenticate().await.unwrap();
        let integrations = c.list_integrations().await.unwrap();
        let function_integrations: Vec<String> = integrations
            .iter()
            .filter(|i| {
                i.integration_type.as_ref().map(|t| t.id.as_str())
                    == Some(FUNCTION_INTEGRATION_TYPE)
            })
            .map(|i| i.id.clone())
            .collect();
        // Listings: without and with config, with filters, auth actions included.
        let bare = c.list_actions(&ActionQuery::default()).await.unwrap();
        assert!(bare.iter().all(|a| a.config.is_none()));
        let all = c
            .list_actions(&ActionQuery {
                include_config: true,
                ..ActionQuery::default()
            })
            .await
            .unwrap();
        let is_function = |a: &&Action| {
            a.integration_id
                .as_ref()
                .is_some_and(|i| function_integrations.contains(i))
        };
        let standard = all
            .iter()
            .find(|a| {
                !a.id.starts_with("static")
                    && !is_function(a)
                    && a.config
                        .as_ref()
                        .is_some_and(|c| c.timeout_seconds.is_some())
            })
            .unwrap()
            .clone();
        let function = all.iter().find(is_function).unwrap().clone();
        let builtin = all
            .iter()
            .find(|a| a.id.starts_with("static"))
            .unwrap()
            .clone();
        c.list_actions(&ActionQuery {
            include_auth_actions: true,
            include_config: true,
            secure: Some(false),
            ..ActionQuery::default()
        })
        .await
        .unwrap();
        let name = standard.name.clone().unwrap();
        c.list_actions(&ActionQuery {
            category: standard.category.clone(),
            name: Some(name[..name.len() / 2].to_owned()),
            ids: Some(vec![standard.id.clone(), function.id.clone()]),
            include_config: true,
            ..ActionQuery::default()
        })
        .await
        .unwrap();

        // One action, its templates, and a write: accepted, stale, invalid, refused.
        let id = standard.id.as_str();
        c.get_action(id, false).await.unwrap();
        let current = c.get_action(id, true).await.unwrap();
        c.get_template(id, "requesttemplate.vm").await.unwrap();
        c.get_template(id, "successtemplate.vm").await.unwrap();
        let old = current.config.as_ref().unwrap().timeout_seconds.unwrap();
        let input = writable(c, &current, if old == 44 { 43 } else { 44 }).await;
        let patched = c.patch_action(id, &input).await.unwrap();
        assert_eq!(status(c.patch_action(id, &input).await), Some(conflict));
        let invalid = writable(c, &patched, 61).await;
        assert_eq!(status(c.patch_action(id, &invalid).await), Some(400));
        let refused = UpdateActionInput {
            name: builtin.name.clone(),
            category: None,
            config: None,
            version: builtin.version.unwrap(),
        };
        assert_eq!(
            status(c.patch_action(&builtin.id, &refused).await),
            Some(400)
        );

        // Not found, and function settings of an action that has none.
        assert_eq!(
            status(c.get_action("no-such-action", true).await),
            Some(404)
        );
        assert_eq!(status(c.get_template(id, "nosuch.vm").await), Some(404));
        assert_eq!(status(c.get_draft(id, true).await), Some(404));
        assert_eq!(status(c.get_function(id).await), Some(400));

        // Execution statistics: a query as dactl sends it (grouped by action and error type,
        // filtered by an OR of ids, a view at a timeout) and one the platform refuses (an interval
        // that is not `start/end`).
        let interval = dactl::change::stats::window(jiff::Timestamp::now().as_millisecond(), 7);
        let query = AggregationQuery {
            interval,
            group_by: vec!["actionId".into(), "errorType".into()],
            filter: Some(QueryFilter::any_action([id, function.id.as_str()])),
            metrics: vec![METRIC.into()],
            views: vec![AggregationView::at_least("t30", 29_950.0)],
            ..AggregationQuery::default()
        };
        let answer = c.action_aggregates(&query).await.unwrap();
        assert!(!answer.results.is_empty(), "the seeded history answers");
        let refused = AggregationQuery {
            interval: "last week".into(),
            metrics: vec![METRIC.into()],
            ..AggregationQuery::default()
        };
        assert_eq!(status(c.action_aggregates(&refused).await), Some(400));

        // The draft workflow of a function data action.
        let f = function.id.as_str();
        c.get_function(f).await.unwrap();
        c.create_draft(f).await.unwrap();
        assert_eq!(status(c.create_draft(f).await), Some(400));
        c.get_draft(f, false).await.unwrap();
        c.validate_draft(f).await.unwrap();
        let settings = c.get_draft_function(f).await.unwrap();
        let mut function_settings = settings.function.clone().unwrap();
        function_settings.timeout_seconds = Some(9);
        c.put_draft_function(f, &function_settings).await.unwrap();
        let draft = c.get_draft(f, true).await.unwrap();
        let draft = c
            .patch_draft(
                f,
                &UpdateDraftInput {
                    name: draft.name.clone(),
                    category: draft.category.clone(),
                    config: draft.config.clone(),
                    contract: None,
                    secure: draft.secure,
                    version: draft.version.unwrap(),
                },
            )
            .await
            .unwrap();
        assert_eq!(status(c.publish_draft(f, 0).await), Some(conflict));

        // What dactl never sends: contract expansion, flatten, draft templates, paging by hand.
        let raw = Raw::new(org).await;
        let actions = "/api/v2/integrations/actions";
        for query in [
            "expand=contract",
            "expand=contract&includeConfig=true&flatten=false",
        ] {
            assert_eq!(raw.get(&format!("{actions}/{id}?{query}")).await.0, 200);
        }
        assert_eq!(
            raw.get(&format!("{actions}/{f}/draft?expand=contract"))
                .await
                .0,
            200
        );
        for file in ["requesttemplate.vm", "successtemplate.vm"] {
            assert_eq!(
                raw.get(&format!("{actions}/{f}/draft/templates/{file}"))
                    .await
                    .0,
                200
            );
        }
        c.publish_draft(f, draft.version.unwrap()).await.unwrap();
        let (_, first) = raw
            .get(&format!("{actions}?pageSize=10&includeConfig=true"))
            .await;
        let mut next = serde_json::from_str::<Value>(&first).unwrap()["nextUri"]
            .as_str()
            .map(str::to_owned);
        let mut pages = 1;
        while let Some(uri) = next {
            let (code, body) = raw.get(&uri).await;
            assert_eq!(code, 200, "{uri}: {body}");
            next = serde_json::from_str::<Value>(&body).unwrap()["nextUri"]
                .as_str()
                .map(str::to_owned);
            pages += 1;
        }
        assert!(pages >= 4, "{pages} pages of 10");
        assert_eq!(
            raw.get("/api/v2/integrations?pageSize=2&pageNumber=2")
                .await
                .0,
            200
        );
        let sorted = format!(
            "{actions}?sortBy=category&sortOrder=DESC&secure=false&includeAuthActions=true"
        );
        assert_eq!(raw.get(&sorted).await.0, 200);

        // Unauthenticated, unauthorised and refused credentials.
        let stranger = client(
            org,
            Credentials::AccessToken(Secret::new("not-a-token")),
            RetryPolicy::default(),
        );
        assert_eq!(
            status(stranger.list_actions(&ActionQuery::default()).await),
            Some(401)
        );
        let anonymous = raw
            .http
            .get(format!("{}{actions}", raw.base))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        let reader = client(org, credentials(READER.0, READER.1), RetryPolicy::default());
        let read = reader.get_action(id, true).await.unwrap();
        let input = writable(&reader, &read, 30).await;
        assert_eq!(status(reader.patch_action(id, &input).await), Some(403));
        let refused = Raw::token(&raw.http, &raw.base, "sandbox", "wrong").await;
        let expected = if variants.contains("token-error-status=401") {
            401
        } else {
            400
        };
        assert_eq!(refused.status().as_u16(), expected);
        let wrong = client(org, credentials("sandbox", "wrong"), RetryPolicy::default());
        assert!(wrong.authenticate().await.is_err());
    });

    // The binary: doctor's reads (drafts listing, integrations, latency), a bulk raise (its
    // canary's whole reads, template reads, PATCHes, read-back), a function data action's timeout
    // through a draft, and the undo of both.
    assert_code(&dactl(org, &["--json", "doctor"]), 0);
    let dir = temp_dir("contract");
    let raise_journal = dir.join("raise.jsonl");
    let raised = dactl(
        org,
        &[
            "--journal",
            path(&raise_journal),
            "run",
            crate::support::RAISE,
            "--arg",
            "target=45",
            "--arg",
            "unset=set",
        ],
    );
    assert_code(&raised, 0);
    let function_id = {
        let list = dactl(org, &["--json", "actions", "list", "--kind", "function"]);
        assert_code(&list, 0);
        let list: Vec<Value> = serde_json::from_str(&crate::support::stdout(&list)).unwrap();
        list.last().unwrap()["id"].as_str().unwrap().to_owned()
    };
    let set_journal = dir.join("set.jsonl");
    let set = dactl(
        org,
        &[
            "--journal",
            path(&set_journal),
            "actions",
            "set-timeout",
            &function_id,
            "7",
        ],
    );
    assert_code(&set, 0);
    for journal in [&set_journal, &raise_journal] {
        let undo = crate::support::undo(org, journal, &dir.join("undo.jsonl"));
        assert_code(&undo, 0);
    }

    // A 429 from the rate limit, seen once: the wait is longer than this client may spend.
    let impatient = client(
        throttled,
        credentials("sandbox", "sandbox"),
        RetryPolicy {
            max_total: Duration::from_secs(2),
            ..RetryPolicy::default()
        },
    );
    let statuses: Vec<Option<u16>> = throttled.rt.block_on(async {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(status(impatient.list_integrations().await));
        }
        statuses
    });
    assert_eq!(statuses, [None, None, None, Some(429)]);
}

/// The scenario reached every answer it meant to check, so a change that drops a step fails here
/// rather than passing with less checked.
fn assert_reached(variants: &str, conflict: u16, recorded: &[Exchange]) {
    let seen: BTreeSet<(&str, &str, u16)> = recorded
        .iter()
        .map(|x| (x.method.as_str(), x.route.as_str(), x.status))
        .collect();
    let token_refused = if variants.contains("token-error-status=401") {
        401
    } else {
        400
    };
    let a = "/api/v2/integrations/actions";
    let one = "/api/v2/integrations/actions/{actionId}";
    let expected: Vec<(&str, String, u16)> = vec![
        ("POST", "/oauth/token".into(), 200),
        ("POST", "/oauth/token".into(), token_refused),
        ("GET", "/api/v2/integrations".into(), 200),
        ("GET", "/api/v2/integrations".into(), 429),
        ("GET", a.into(), 200),
        ("GET", a.into(), 401),
        ("GET", one.into(), 200),
        ("GET", one.into(), 404),
        ("PATCH", one.into(), 200),
        ("PATCH", one.into(), conflict),
        ("PATCH", one.into(), 400),
        ("PATCH", one.into(), 403),
        ("GET", format!("{one}/templates/{{fileName}}"), 200),
        ("GET", format!("{one}/templates/{{fileName}}"), 404),
        ("POST", format!("{one}/draft"), 200),
        ("POST", format!("{one}/draft"), 400),
        ("GET", format!("{one}/draft"), 200),
        ("GET", format!("{one}/draft"), 404),
        ("PATCH", format!("{one}/draft"), 200),
        ("GET", format!("{one}/draft/validation"), 200),
        ("GET", format!("{one}/draft/templates/{{fileName}}"), 200),
        ("GET", format!("{one}/draft/function"), 200),
        ("PUT", format!("{one}/draft/function"), 200),
        ("POST", format!("{one}/draft/publish"), 200),
        ("POST", format!("{one}/draft/publish"), conflict),
        ("GET", format!("{one}/function"), 200),
        ("GET", format!("{one}/function"), 400),
        (
            "POST",
            "/api/v2/analytics/actions/aggregates/query".into(),
            200,
        ),
        (
            "POST",
            "/api/v2/analytics/actions/aggregates/query".into(),
            400,
        ),
    ];
    let missing: Vec<String> = expected
        .iter()
        .filter(|(m, r, s)| !seen.contains(&(*m, r.as_str(), *s)))
        .map(|(m, r, s)| format!("{m} {r} → {s}"))
        .collect();
    assert!(
        missing.is_empty(),
        "`{variants}`: never reached {missing:?}"
    );
    let queries: BTreeSet<&str> = recorded
        .iter()
        .filter_map(|x| x.query.as_deref())
        .flat_map(|q| q.split('&'))
        .collect();
    for query in [
        "includeConfig=true",
        "includeConfig=false",
        "expand=contract",
        "includeAuthActions=true",
    ] {
        assert!(
            queries.contains(query),
            "`{variants}`: no request with {query}"
        );
    }
    // Bodies were recorded, both ways.
    assert!(
        recorded
            .iter()
            .any(|x| x.method == "PATCH" && x.request_body.contains("\"version\""))
    );
    assert!(recorded.iter().any(|x| {
        x.response_content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/plain"))
    }));
}

/// Recording is off unless asked for: nothing is kept, and bodies pass through untouched.
#[test]
fn a_sandbox_records_nothing_unless_asked() {
    let org = Org::start(SandboxOptions::default());
    let c = client(
        &org,
        credentials("sandbox", "sandbox"),
        RetryPolicy::default(),
    );
    org.rt
        .block_on(c.list_actions(&ActionQuery::default()))
        .unwrap();
    let url = format!("{}/sandbox/exchanges", org.url());
    let body: Value = org
        .rt
        .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
    assert_eq!(body, json!({ "recording": false, "exchanges": [] }));
}
