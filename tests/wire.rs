//! The sandbox reads request bodies with its own wire types, not the client's: where the contract
//! closes a body (its top level, a draft's contract) or types a field, a client's mistake is
//! refused with the notes' 400 error body and changes nothing, and no answer ever carries a field
//! the contract does not name at the top level. A config stays open, as the notes say the
//! platform keeps fields no model lists. Plain reqwest (`Org::api`), not dactl's client.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Org;

const CONTRACT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/contract/genesys-actions-openapi.json"
);

/// The properties the contract names for `definition`.
fn properties(definition: &str) -> BTreeSet<String> {
    let contract: Value =
        serde_json::from_str(&std::fs::read_to_string(CONTRACT).unwrap()).unwrap();
    contract["definitions"][definition]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("the contract defines {definition}"))
        .keys()
        .cloned()
        .collect()
}

/// The keys of `value` (an object) the contract's `definition` does not name.
fn unnamed(value: &Value, definition: &str) -> Vec<String> {
    let known = properties(definition);
    value
        .as_object()
        .unwrap_or_else(|| panic!("{definition} is an object: {value}"))
        .keys()
        .filter(|k| !known.contains(*k))
        .cloned()
        .collect()
}

/// A 400 in the notes' error body, with `code`; its message, for more checks.
fn assert_refused(answer: &(u16, Value), code: &str, what: &str) -> String {
    let (status, body) = answer;
    assert_eq!(*status, 400, "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
    assert_eq!(body["status"], 400, "{what}: {body}");
    assert!(body["contextId"].is_string(), "{what}: {body}");
    assert!(
        body["details"].is_array() && body["errors"].is_array(),
        "{what}: {body}"
    );
    body["message"].as_str().unwrap().to_owned()
}

/// An editable (neither static nor custom authentication) non-function action, as stored.
fn plain_action(org: &Org) -> Value {
    org.actions()
        .into_iter()
        .find(|a| {
            let id = a["id"].as_str().unwrap();
            !id.starts_with("static")
                && a["config"]["request"]["requestTemplateUri"].is_string()
                && !a["function"].is_object()
                && a["name"]
                    .as_str()
                    .is_some_and(|n| !n.contains("Custom Auth"))
        })
        .expect("the org has a plain action")
}

/// A function data action with a fresh draft: its path and the draft's function settings.
fn function_with_draft(org: &Org) -> (String, Value) {
    let action = org.function_action();
    let path = org.action_path(action["id"].as_str().unwrap());
    let created = org.api(Method::POST, &format!("{path}/draft"), Some(json!({})));
    assert_eq!(created.0, 200, "{}", created.1);
    let (status, settings) = org.api(Method::GET, &format!("{path}/draft/function"), None);
    assert_eq!(status, 200, "{settings}");
    (path, settings)
}

#[test]
fn a_misspelt_top_level_field_is_refused_naming_it_and_changes_nothing() {
    let org = Org::seed();
    let action = plain_action(&org);
    let path = org.action_path(action["id"].as_str().unwrap());
    let version = action["version"].clone();
    let config = json!({ "timeoutSeconds": 7 });
    let (function_path, settings) = function_with_draft(&org);
    let before = org.actions();

    let mut misspelt_function = settings["function"].clone();
    misspelt_function["timeoutSecond"] = json!(5);
    let writes = [
        (
            Method::PATCH,
            path.clone(),
            json!({ "versoin": version, "config": config }),
            "versoin",
            "UpdateActionInput",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "version": version, "config": config, "timeoutSeconds": 7 }),
            "timeoutSeconds",
            "UpdateActionInput",
        ),
        (
            Method::PATCH,
            format!("{function_path}/draft"),
            json!({ "version": 1, "nmae": "renamed" }),
            "nmae",
            "UpdateDraftInput",
        ),
        (
            Method::POST,
            format!("{function_path}/draft/publish"),
            json!({ "version": 1, "versoin": 1 }),
            "versoin",
            "PublishDraftInput",
        ),
        (
            Method::PUT,
            format!("{function_path}/draft/function"),
            misspelt_function,
            "timeoutSecond",
            "Function",
        ),
    ];
    for (method, url, body, field, model) in writes {
        let what = format!("{method} {url} with `{field}`");
        let message = assert_refused(&org.api(method, &url, Some(body)), "bad.request", &what);
        assert!(
            message.contains(&format!("`{field}`")) && message.contains(model),
            "{what}: {message}"
        );
    }
    assert_eq!(org.actions(), before, "a refused write changed nothing");
}

#[test]
fn fields_the_contract_types_or_closes_below_the_top_level_are_refused() {
    let org = Org::seed();
    let (path, settings) = function_with_draft(&org);
    let before = org.actions();

    // A function's settings are strings where the contract says so.
    for (field, wrong) in [
        ("handler", json!(5)),
        ("runtime", json!(["nodejs22.x"])),
        ("description", json!({ "text": "x" })),
        ("zipId", json!(true)),
    ] {
        let mut body = settings["function"].clone();
        body[field] = wrong.clone();
        let answer = org.api(Method::PUT, &format!("{path}/draft/function"), Some(body));
        let what = format!("function {field}: {wrong}");
        assert_refused(&answer, "invalid.value", &what);
        assert_eq!(answer.1["details"][0]["fieldName"], field, "{what}");
    }

    // A draft's contract is an `ActionContractInput`: `input.inputSchema` and
    // `output.successSchema`, and nothing else at its top level.
    let schema = json!({ "type": "object", "properties": {} });
    for (case, contract) in [
        ("not an object", json!("none")),
        ("no output", json!({ "input": { "inputSchema": schema } })),
        (
            "misspelt output",
            json!({ "input": { "inputSchema": schema }, "outptu": { "successSchema": schema } }),
        ),
        (
            "an extra top-level field",
            json!({
                "input": { "inputSchema": schema },
                "output": { "successSchema": schema },
                "errors": {},
            }),
        ),
        (
            "no input schema",
            json!({ "input": {}, "output": { "successSchema": schema } }),
        ),
        (
            "a schema that is not an object",
            json!({ "input": { "inputSchema": "object" }, "output": { "successSchema": schema } }),
        ),
    ] {
        let body = json!({ "version": 1, "contract": contract });
        let answer = org.api(Method::PATCH, &format!("{path}/draft"), Some(body));
        let message = assert_refused(&answer, "invalid.value", case);
        assert!(message.contains("contract"), "{case}: {message}");
    }
    assert_eq!(org.actions(), before, "a refused write changed nothing");

    // The contract as a read gives it (a wider shape) is taken back.
    let (_, draft) = org.api(
        Method::GET,
        &format!("{path}/draft?includeConfig=true&expand=contract"),
        None,
    );
    let body = json!({ "version": 1, "contract": draft["contract"] });
    let (status, answer) = org.api(Method::PATCH, &format!("{path}/draft"), Some(body));
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn no_answer_carries_a_field_the_contract_does_not_name() {
    let org = Org::seed();
    let (path, settings) = function_with_draft(&org);
    let action = plain_action(&org);
    let plain = org.action_path(action["id"].as_str().unwrap());
    let schema = json!({ "type": "object", "properties": {} });

    // A client with every kind of misspelling tries to write; whatever the sandbox answers, no
    // misspelt name may come back from any read.
    let mut function = settings["function"].clone();
    function["handlr"] = json!("src/index.handler");
    let attempts = [
        (Method::PUT, format!("{path}/draft/function"), function),
        (
            Method::PATCH,
            format!("{path}/draft"),
            json!({
                "version": 1,
                "contract": {
                    "input": { "inputSchema": schema },
                    "output": { "successSchema": schema },
                    "outptu": { "successSchema": schema },
                },
            }),
        ),
        (
            Method::PATCH,
            format!("{path}/draft"),
            json!({ "version": 1, "secrue": true }),
        ),
        (
            Method::PATCH,
            plain.clone(),
            json!({ "version": action["version"], "categroy": "x" }),
        ),
    ];
    for (method, url, body) in attempts {
        let (status, answer) = org.api(method.clone(), &url, Some(body));
        assert_eq!(status, 400, "{method} {url}: {answer}");
    }

    let read = |url: String| {
        let (status, body) = org.api(Method::GET, &url, None);
        assert_eq!(status, 200, "{url}: {body}");
        body
    };
    let whole = "includeConfig=true&expand=contract";
    let shown_action = read(format!("{plain}?{whole}"));
    let draft = read(format!("{path}/draft?{whole}"));
    let draft_function = read(format!("{path}/draft/function"));
    let function = read(format!("{path}/function"));
    let listing = read(format!(
        "{}/api/v2/integrations/actions?includeConfig=true",
        org.url()
    ));
    let drafts = read(format!("{}/api/v2/integrations/actions/drafts", org.url()));
    let integrations = read(format!("{}/api/v2/integrations", org.url()));

    let mut unnamed_fields = Vec::new();
    let mut check = |what: &str, value: &Value, definition: &str| {
        for field in unnamed(value, definition) {
            unnamed_fields.push(format!("{what}: `{field}` ({definition})"));
        }
    };
    for (what, action) in [("action", &shown_action), ("draft", &draft)] {
        check(what, action, "Action");
        check(what, &action["contract"], "ActionContract");
    }
    for (what, settings) in [("draft function", &draft_function), ("function", &function)] {
        check(what, settings, "FunctionConfig");
        check(what, &settings["function"], "Function");
    }
    check("actions listing", &listing, "ActionEntityListing");
    for entity in listing["entities"].as_array().unwrap() {
        check("listed action", entity, "Action");
    }
    check("drafts listing", &drafts, "ActionEntityListing");
    check(
        "integrations listing",
        &integrations,
        "IntegrationEntityListing",
    );
    for entity in integrations["entities"].as_array().unwrap() {
        check("integration", entity, "Integration");
        check(
            "integration type",
            &entity["integrationType"],
            "IntegrationType",
        );
    }
    assert!(unnamed_fields.is_empty(), "{unnamed_fields:#?}");

    let everything = org.actions();
    let shown = serde_json::to_string(&(everything, draft, draft_function)).unwrap();
    for misspelt in ["handlr", "outptu", "secrue", "categroy"] {
        assert!(!shown.contains(misspelt), "`{misspelt}` was kept");
    }
}

#[test]
fn a_config_keeps_fields_no_model_lists() {
    let org = Org::seed();
    let action = plain_action(&org);
    let path = org.action_path(action["id"].as_str().unwrap());
    let (_, read) = org.api(Method::GET, &format!("{path}?includeConfig=true"), None);
    let mut config = read["config"].clone();
    config["retryPolicy"] = json!({ "attempts": 2 });
    config["request"]["proxyMode"] = json!("direct");
    config["response"]["cacheSettings"] = json!({ "enabled": false });
    let body = json!({ "version": read["version"], "config": config });
    let (status, answer) = org.api(Method::PATCH, &path, Some(body));
    assert_eq!(status, 200, "{answer}");
    let stored = org.action(action["id"].as_str().unwrap());
    assert_eq!(stored["config"]["retryPolicy"], json!({ "attempts": 2 }));
    assert_eq!(stored["config"]["request"]["proxyMode"], "direct");
    assert_eq!(
        stored["config"]["response"]["cacheSettings"],
        json!({ "enabled": false })
    );
}
