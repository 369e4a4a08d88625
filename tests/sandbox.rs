//! The sandbox over real HTTP, with plain reqwest (not dactl's client, so a bug in one cannot
//! hide the same bug in the other).

use std::collections::BTreeSet;
use std::time::Duration;

use dactl::sandbox::{Sandbox, SandboxOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Org {
    _sandbox: Sandbox,
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Org {
    async fn start(options: SandboxOptions) -> Org {
        let sandbox = Sandbox::start(options).await.expect("sandbox starts");
        let base = sandbox.base_url().as_str().trim_end_matches('/').to_owned();
        let http = reqwest::Client::new();
        let mut org = Org {
            _sandbox: sandbox,
            base,
            http,
            token: String::new(),
        };
        org.token = org.token_for("sandbox", "sandbox").await;
        org
    }

    async fn default() -> Org {
        Org::start(SandboxOptions::default()).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn token_request(
        &self,
        id: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .expect("token request is answered")
    }

    async fn token_for(&self, id: &str, secret: &str) -> String {
        let response = self
            .token_request(id, secret, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request is answered")
    }

    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let response = self.call(method, path, &self.token, body).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.json(Method::GET, path, None).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::PATCH, path, Some(body)).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::POST, path, Some(body)).await
    }

    /// Every stored action, as the inspection route shows it, with each template's text.
    async fn stored(&self) -> Vec<Value> {
        self.inspect("/sandbox/actions?templates=text").await
    }

    async fn inspect(&self, path: &str) -> Vec<Value> {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn stored_action(&self, id: &str) -> Value {
        self.stored()
            .await
            .into_iter()
            .find(|a| a["id"] == id)
            .expect("action is stored")
    }

    /// A template's text, as `GET .../templates/{file}` serves it.
    async fn template(&self, id: &str, file: &str) -> String {
        let path = format!("{}/templates/{file}", action_path(id));
        let response = self.call(Method::GET, &path, &self.token, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    /// The first stored action that satisfies `pred`.
    async fn pick(&self, pred: impl Fn(&Value) -> bool) -> Value {
        self.stored()
            .await
            .into_iter()
            .find(|a| pred(a))
            .expect("a matching action")
    }
}

/// Default options with some variants chosen, e.g. `"templates=inline"`.
fn options(variants: &str) -> SandboxOptions {
    let mut options = SandboxOptions::default();
    options.variants.apply(variants).unwrap();
    options
}

/// Both templates: file, config section, text key.
const TEMPLATES: [(&str, &str, &str); 2] = [
    ("requesttemplate.vm", "request", "requestTemplate"),
    ("successtemplate.vm", "response", "successTemplate"),
];

fn action_path(id: &str) -> String {
    format!("/api/v2/integrations/actions/{id}")
}

fn editable(a: &Value) -> bool {
    let id = a["id"].as_str().unwrap();
    !id.starts_with("static") && !a["name"].as_str().unwrap().contains("Custom Auth")
}

/// A PATCH body that sends back everything and sets only the timeout.
fn with_timeout(action: &Value, timeout: Value) -> Value {
    let mut config = action["config"].clone();
    config["timeoutSeconds"] = timeout;
    json!({
        "name": action["name"],
        "category": action["category"],
        "version": action["version"],
        "config": config,
    })
}

#[tokio::test]
async fn token_endpoint_issues_bearer_tokens_and_refuses_bad_requests() {
    let org = Org::default().await;
    let ok = org
        .token_request(
            "sandbox",
            "sandbox",
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers().contains_key("inin-correlation-id"));
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86399);
    assert!(body["access_token"].as_str().unwrap().len() > 20);

    // Bad credentials: 400 by default (the harsher reading: the same status as the token
    // endpoint's rate limit), 401 under `token-error-status=401`; the same body either way.
    let bad = org
        .token_request("sandbox", "wrong", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad.json().await.unwrap();
    let refusal = json!({"error": "invalid_client", "description": "authentication failed", "error_description": "authentication failed"});
    assert_eq!(body, refusal);
    let strict = Org::start(options("token-error-status=401")).await;
    let bad = strict
        .token_request("sandbox", "wrong", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bad.json::<Value>().await.unwrap(), refusal);

    let missing = org.token_request("sandbox", "sandbox", &[]).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let wrong = org
        .token_request("sandbox", "sandbox", &[("grant_type", "password")])
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn token_endpoint_has_its_own_rate_limit_per_client() {
    let org = Org::start(SandboxOptions {
        token_rate_limit: 2,
        ..SandboxOptions::default()
    })
    .await; // the first token is one of the two
    org.token_for("sandbox", "sandbox").await;
    let third = org
        .token_request(
            "sandbox",
            "sandbox",
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(third.status(), StatusCode::BAD_REQUEST);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .starts_with("rate limit exceeded")
    );
}

#[tokio::test]
async fn expired_missing_and_unknown_tokens_get_their_401_codes() {
    let org = Org::start(SandboxOptions {
        token_ttl_secs: 1,
        ..SandboxOptions::default()
    })
    .await;
    let listing = "/api/v2/integrations/actions";
    assert_eq!(org.get(listing).await.0, StatusCode::OK);

    let none = org.http.get(org.url(listing)).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.json::<Value>().await.unwrap()["code"],
        "authentication.required"
    );

    let unknown = org.call(Method::GET, listing, "not-a-token", None).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["code"],
        "bad.credentials"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = org.get(listing).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "bad.credentials");
}

#[tokio::test]
async fn read_only_clients_may_read_but_writes_name_the_missing_permission() {
    let org = Org::start(SandboxOptions {
        read_only_clients: vec![("viewer".into(), "viewer-secret".into())],
        ..SandboxOptions::default()
    })
    .await;
    let token = org.token_for("viewer", "viewer-secret").await;
    let action = org.pick(editable).await;
    let id = action["id"].as_str().unwrap();

    let read = org.call(Method::GET, &action_path(id), &token, None).await;
    assert_eq!(read.status(), StatusCode::OK);

    let write = org
        .call(
            Method::PATCH,
            &action_path(id),
            &token,
            Some(with_timeout(&action, json!(9))),
        )
        .await;
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    let body: Value = write.json().await.unwrap();
    assert_eq!(body["code"], "missing.any.permissions");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("integrations:action:edit")
    );
    assert_eq!(org.stored_action(id).await["version"], action["version"]);

    let function = org
        .call(
            Method::PUT,
            &format!("{}/draft/function", action_path(id)),
            &token,
            Some(json!({"handler": "a.b", "runtime": "nodejs22.x"})),
        )
        .await;
    assert_eq!(function.status(), StatusCode::FORBIDDEN);
    let body: Value = function.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("integrations:actionFunction:edit")
    );
}

#[tokio::test]
async fn generated_actions_are_listed_with_real_paging_fields() {
    let org = Org::start(SandboxOptions {
        actions: Some(230),
        ..SandboxOptions::default()
    })
    .await;
    let mut ids = BTreeSet::new();
    for page in 1..=3 {
        let (status, body) = org
            .get(&format!(
                "/api/v2/integrations/actions?pageSize=100&pageNumber={page}&sortOrder=ASC"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["total"], 230);
        assert_eq!(body["pageCount"], 3);
        assert_eq!(body["pageSize"], 100);
        assert_eq!(body["pageNumber"], page);
        let entities = body["entities"].as_array().unwrap();
        assert_eq!(entities.len(), if page == 3 { 30 } else { 100 });
        ids.extend(
            entities
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned()),
        );
        assert_eq!(
            body["firstUri"],
            "/api/v2/integrations/actions?pageSize=100&pageNumber=1&sortOrder=ASC"
        );
        assert_eq!(
            body["lastUri"],
            "/api/v2/integrations/actions?pageSize=100&pageNumber=3&sortOrder=ASC"
        );
        assert_eq!(body["nextUri"].is_string(), page < 3);
        assert_eq!(body["previousUri"].is_string(), page > 1);
        assert!(
            body["selfUri"]
                .as_str()
                .unwrap()
                .contains(&format!("pageNumber={page}"))
        );
    }
    assert_eq!(ids.len(), 230);

    let (_, default_page) = org.get("/api/v2/integrations/actions").await;
    assert_eq!(default_page["pageSize"], 25);
    assert_eq!(default_page["entities"].as_array().unwrap().len(), 25);
    let names: Vec<String> = default_page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted by name by default");

    for bad in ["0", "101", "ten"] {
        let (status, body) = org
            .get(&format!("/api/v2/integrations/actions?pageSize={bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "pageSize={bad}");
        assert_eq!(body["code"], "invalid.value");
        assert!(body["message"].as_str().unwrap().contains("pageSize"));
    }
}

#[tokio::test]
async fn config_is_present_only_with_include_config_and_contract_only_with_expand() {
    let org = Org::default().await;
    let (_, without) = org.get("/api/v2/integrations/actions?pageSize=100").await;
    let entities = without["entities"].as_array().unwrap();
    assert!(!entities.is_empty());
    assert!(entities.iter().all(|a| a.get("config").is_none()));

    let (_, with) = org
        .get("/api/v2/integrations/actions?pageSize=100&includeConfig=true")
        .await;
    assert!(
        with["entities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["config"].is_object())
    );

    let id = entities[0]["id"].as_str().unwrap();
    let (_, bare) = org.get(&action_path(id)).await;
    assert!(bare.get("config").is_none() && bare.get("contract").is_none());
    let (_, full) = org
        .get(&format!(
            "{}?includeConfig=true&expand=contract",
            action_path(id)
        ))
        .await;
    assert!(full["config"].is_object());
    assert!(full["contract"]["input"]["inputSchema"].is_object());

    let (status, body) = org
        .get(&action_path("00000000-0000-0000-0000-000000000000"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not.found");
}

#[tokio::test]
async fn custom_auth_actions_are_listed_only_when_asked_for() {
    let org = Org::default().await;
    let (_, hidden) = org.get("/api/v2/integrations/actions?pageSize=100").await;
    let (_, shown) = org
        .get("/api/v2/integrations/actions?pageSize=100&includeAuthActions=true")
        .await;
    let total = hidden["total"].as_u64().unwrap();
    assert!((35..=45).contains(&total));
    assert_eq!(shown["total"].as_u64().unwrap(), total + 1);
    assert_eq!(org.stored().await.len() as u64, total + 1);
}

#[tokio::test]
async fn ids_filter_returns_exactly_those_and_accepts_at_most_fifty() {
    let org = Org::start(SandboxOptions {
        actions: Some(80),
        ..SandboxOptions::default()
    })
    .await;
    let stored = org.stored().await;
    let wanted: Vec<&str> = stored
        .iter()
        .take(3)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let (_, body) = org
        .get(&format!(
            "/api/v2/integrations/actions?ids={}",
            wanted.join(",")
        ))
        .await;
    let got: BTreeSet<&str> = body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, wanted.iter().copied().collect());

    let fifty_one: Vec<&str> = stored
        .iter()
        .take(51)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let (status, body) = org
        .get(&format!(
            "/api/v2/integrations/actions?ids={}",
            fifty_one.join(",")
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid.value");
    assert!(body["message"].as_str().unwrap().contains("50"));
}

#[tokio::test]
async fn patch_replaces_what_is_sent_bumps_the_version_and_changes_nothing_else() {
    let org = Org::default().await;
    let before = org.stored().await;
    let action = before.iter().find(|a| editable(a)).unwrap().clone();
    let id = action["id"].as_str().unwrap();
    // The safe algorithm of the notes: read with config (templates by URI only, the default),
    // fetch both templates' text, send the whole config with only the timeout changed.
    let (_, read) = org
        .get(&format!("{}?includeConfig=true", action_path(id)))
        .await;
    let mut config = read["config"].clone();
    for (file, section, key) in TEMPLATES {
        config[section][key] = json!(org.template(id, file).await);
    }
    config["timeoutSeconds"] = json!(42);
    // Only version and config are sent: name and category stay.
    let (status, patched) = org
        .patch(
            &action_path(id),
            json!({"version": read["version"], "config": config}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["version"], read["version"].as_i64().unwrap() + 1);
    assert_eq!(patched["config"]["timeoutSeconds"], 42);

    let after = org.stored().await;
    for (old, new) in before.iter().zip(&after) {
        if old["id"] != id {
            assert_eq!(old, new);
            continue;
        }
        let mut expected = old.clone();
        expected["version"] = patched["version"].clone();
        expected["config"]["timeoutSeconds"] = json!(42);
        assert_eq!(&expected, new);
    }
}

#[tokio::test]
async fn patch_refuses_stale_versions_bad_timeouts_and_missing_versions() {
    // A stale version: 400 `bad.request` by default, 409 `conflict` under `conflict-status=409`;
    // the message says the version does not match either way.
    for (variant, status, code) in [
        ("", StatusCode::BAD_REQUEST, "bad.request"),
        (
            "conflict-status=400",
            StatusCode::BAD_REQUEST,
            "bad.request",
        ),
        ("conflict-status=409", StatusCode::CONFLICT, "conflict"),
    ] {
        let org = Org::start(options(variant)).await;
        let action = org.pick(editable).await;
        let id = action["id"].as_str().unwrap();
        let mut stale = with_timeout(&action, json!(10));
        stale["version"] = json!(action["version"].as_i64().unwrap() - 1);
        let (got, body) = org.patch(&action_path(id), stale).await;
        assert_eq!(
            (got, body["code"].as_str().unwrap()),
            (status, code),
            "{variant}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("does not match the current version"),
            "{body}"
        );
        assert_eq!(org.stored_action(id).await, action, "nothing was written");
    }
    let org = Org::default().await;
    let action = org.pick(editable).await;
    let id = action["id"].as_str().unwrap();

    for timeout in [0, 61, 5000] {
        let (status, body) = org
            .patch(&action_path(id), with_timeout(&action, json!(timeout)))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "timeout {timeout}");
        assert_eq!(body["code"], "invalid.value");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("timeoutSeconds") && message.contains("1 and 60"),
            "{message}"
        );
    }

    let mut unversioned = with_timeout(&action, json!(10));
    unversioned.as_object_mut().unwrap().remove("version");
    let (status, body) = org.patch(&action_path(id), unversioned).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("version"));
    assert_eq!(org.stored_action(id).await, action, "nothing was written");
}

#[tokio::test]
async fn static_and_custom_auth_actions_refuse_a_timeout() {
    let org = Org::default().await;
    let fixed = org
        .pick(|a| a["id"].as_str().unwrap().starts_with("static"))
        .await;
    let (status, body) = org
        .patch(
            &action_path(fixed["id"].as_str().unwrap()),
            with_timeout(&fixed, json!(10)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad.request");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot be changed")
    );

    let (_, listed) = org
        .get("/api/v2/integrations/actions?pageSize=100&includeAuthActions=true&name=custom%20auth")
        .await;
    let auth = listed["entities"][0].clone();
    let auth = org.stored_action(auth["id"].as_str().unwrap()).await;
    let id = auth["id"].as_str().unwrap();
    let (status, body) = org
        .patch(&action_path(id), with_timeout(&auth, json!(10)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid.value");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("custom authentication")
    );
    // Without a timeout the custom authentication action can still be changed.
    let mut plain = with_timeout(&auth, Value::Null);
    plain["config"]
        .as_object_mut()
        .unwrap()
        .remove("timeoutSeconds");
    assert_eq!(org.patch(&action_path(id), plain).await.0, StatusCode::OK);
}

#[tokio::test]
async fn templates_are_shown_by_uri_inline_or_mixed_as_the_variant_says() {
    let text_keys = |config: &Value| {
        (
            config["request"]["requestTemplate"].is_string(),
            config["response"]["successTemplate"].is_string(),
        )
    };
    let uri_keys = |config: &Value| {
        (
            config["request"]["requestTemplateUri"].is_string(),
            config["response"]["successTemplateUri"].is_string(),
        )
    };
    for variant in ["", "templates=uri", "templates=inline", "templates=mixed"] {
        let org = Org::start(options(variant)).await;
        let (_, listed) = org
            .get("/api/v2/integrations/actions?pageSize=100&includeConfig=true&includeAuthActions=true")
            .await;
        let listed = listed["entities"].as_array().unwrap().clone();
        let mut shown = (0, 0);
        for action in &listed {
            let id = action["id"].as_str().unwrap();
            let config = &action["config"];
            match (text_keys(config), uri_keys(config)) {
                ((true, true), (false, false)) => shown.0 += 1,
                ((false, false), (true, true)) => shown.1 += 1,
                other => panic!("{variant}: {id} shows {other:?}: {config}"),
            }
            // GET and the listing agree, and so does a draft of the action.
            let (_, read) = org
                .get(&format!("{}?includeConfig=true", action_path(id)))
                .await;
            assert_eq!(&read["config"], config, "{variant}: {id}");
        }
        let n = listed.len();
        match variant {
            "templates=mixed" => assert!(shown.0 > 0 && shown.1 > 0, "{shown:?}"),
            "templates=inline" => assert_eq!(shown, (n, 0)),
            // By URI only is the default.
            _ => assert_eq!(shown, (0, n), "{variant}"),
        }
        let id = listed[0]["id"].as_str().unwrap();
        org.post(&format!("{}/draft", action_path(id)), json!({}))
            .await;
        let (_, draft) = org
            .get(&format!("{}/draft?includeConfig=true", action_path(id)))
            .await;
        assert_eq!(
            text_keys(&draft["config"]),
            text_keys(&listed[0]["config"]),
            "{variant}: the draft reads like its action"
        );
    }
}

#[tokio::test]
async fn template_text_is_served_as_stored_byte_for_byte_as_text_plain() {
    let org = Org::default().await;
    let stored = org.stored().await;
    let mut checked = 0;
    for action in &stored {
        let id = action["id"].as_str().unwrap();
        for (file, section, key) in TEMPLATES {
            let response = org
                .call(
                    Method::GET,
                    &format!("{}/templates/{file}", action_path(id)),
                    &org.token,
                    None,
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{id} {file}");
            assert_eq!(
                response.headers()["content-type"],
                "text/plain; charset=utf-8"
            );
            let bytes = response.bytes().await.unwrap();
            assert_eq!(
                bytes.as_ref(),
                action["config"][section][key].as_str().unwrap().as_bytes(),
                "{id} {file}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * stored.len());
    let texts: Vec<&str> = stored
        .iter()
        .flat_map(|a| {
            TEMPLATES.map(|(_, section, key)| a["config"][section][key].as_str().unwrap())
        })
        .collect();
    // The seed holds what a careless client would change.
    assert!(texts.iter().any(|t| t.contains("\r\n")), "CRLF");
    assert!(
        texts
            .iter()
            .any(|t| t.contains("  \n") || t.contains("  \r\n")),
        "trailing spaces"
    );
    assert!(texts.iter().any(|t| !t.is_ascii()), "non-ASCII");
    assert!(
        texts
            .iter()
            .any(|t| serde_json::from_str::<Value>(t).is_ok_and(|v| v.is_object())),
        "a template that is valid JSON itself"
    );
    let (status, _) = org
        .get(&format!(
            "{}/templates/other.vm",
            action_path(stored[0]["id"].as_str().unwrap())
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // What is sent as text is kept byte for byte, CRLF, spaces and all.
    let action = stored.iter().find(|a| editable(a)).unwrap();
    let id = action["id"].as_str().unwrap();
    let odd = "{\r\n  \"a\": \"Grüße ✓\"  \r\n}\r\n";
    let mut body = with_timeout(action, json!(9));
    body["config"]["request"]["requestTemplate"] = json!(odd);
    assert_eq!(org.patch(&action_path(id), body).await.0, StatusCode::OK);
    assert_eq!(org.template(id, "requesttemplate.vm").await, odd);
}

#[tokio::test]
async fn a_write_without_template_text_gets_the_platform_defaults_unless_keep() {
    for (variant, lost) in [
        ("template-on-missing=default", true),
        ("template-on-missing=keep", false),
    ] {
        let org = Org::start(options(variant)).await;
        let action = org.pick(editable).await;
        let id = action["id"].as_str().unwrap();
        // A careless client writes back the config as GET showed it: URIs, no text.
        let (_, read) = org
            .get(&format!("{}?includeConfig=true", action_path(id)))
            .await;
        let (status, _) = org
            .patch(&action_path(id), with_timeout(&read, json!(12)))
            .await;
        assert_eq!(status, StatusCode::OK);
        let request = org.template(id, "requesttemplate.vm").await;
        let success = org.template(id, "successtemplate.vm").await;
        let old_request = action["config"]["request"]["requestTemplate"]
            .as_str()
            .unwrap();
        let old_success = action["config"]["response"]["successTemplate"]
            .as_str()
            .unwrap();
        if lost {
            assert_eq!(
                (request.as_str(), success.as_str()),
                ("${input.rawRequest}", "${rawResult}")
            );
            assert_ne!(
                old_success, "${rawResult}",
                "the seed's text really was lost"
            );
        } else {
            assert_eq!(
                (request.as_str(), success.as_str()),
                (old_request, old_success)
            );
        }
        // Either way the stored config names the templates by URI and holds no text.
        let shown = org.inspect("/sandbox/actions").await;
        let stored = shown.iter().find(|a| a["id"] == id).unwrap();
        assert!(stored["config"]["request"].get("requestTemplate").is_none());
        assert!(stored["config"]["request"]["requestTemplateUri"].is_string());
    }
}

#[tokio::test]
async fn the_inspection_route_shows_actions_as_stored_and_text_only_when_asked() {
    let org = Org::default().await;
    let plain = org.inspect("/sandbox/actions").await;
    let with_text = org.stored().await;
    assert_eq!(plain.len(), with_text.len());
    for (a, b) in plain.iter().zip(&with_text) {
        for (_, section, key) in TEMPLATES {
            assert!(a["config"][section].get(key).is_none(), "{}", a["id"]);
            assert!(b["config"][section][key].is_string(), "{}", b["id"]);
            let uri = format!("{key}Uri");
            assert_eq!(a["config"][section][&uri], b["config"][section][&uri]);
        }
    }
    let response = org
        .http
        .get(org.url("/sandbox/actions?templates=html"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bodies_the_platform_would_refuse_are_refused_and_change_nothing() {
    let org = Org::default().await;
    let before = org.stored().await;
    let action = before.iter().find(|a| editable(a)).unwrap();
    let id = action["id"].as_str().unwrap();
    let path = action_path(id);

    let mut extra = with_timeout(action, json!(9));
    extra["timeoutSeconds"] = json!(9);
    let (status, body) = org.patch(&path, extra).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad.request");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("`timeoutSeconds`") && message.contains("UpdateActionInput"),
        "{message}"
    );

    let mut wrong_type = with_timeout(action, json!(9));
    wrong_type["config"]["request"]["requestTemplate"] = json!(42);
    let (status, body) = org.patch(&path, wrong_type).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid.value"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("config.request.requestTemplate")
    );

    let mut header = with_timeout(action, json!(9));
    header["config"]["request"]["headers"]["X-Count"] = json!(3);
    assert_eq!(org.patch(&path, header).await.0, StatusCode::BAD_REQUEST);

    let (status, body) = org
        .post(&format!("{path}/draft"), json!({"name": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("`name`"));

    let (status, _) = org
        .post(
            &format!("{path}/draft/publish"),
            json!({"version": 1, "force": true}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(org.stored().await, before, "nothing was written");

    // Function settings need the contract's required fields.
    let function = before.iter().find(|a| a["function"].is_object()).unwrap();
    let path = action_path(function["id"].as_str().unwrap());
    assert_eq!(
        org.post(&format!("{path}/draft"), json!({})).await.0,
        StatusCode::OK
    );
    let (_, settings) = org.get(&format!("{path}/draft/function")).await;
    for required in ["description", "handler", "runtime"] {
        let mut body = settings["function"].clone();
        body.as_object_mut().unwrap().remove(required);
        let (status, answer) = org
            .json(Method::PUT, &format!("{path}/draft/function"), Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{required}");
        assert_eq!(answer["details"][0]["fieldName"], required);
    }
    let mut body = settings["function"].clone();
    body["memoryMb"] = json!(512);
    let (status, _) = org
        .json(Method::PUT, &format!("{path}/draft/function"), Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn next_uri_paging_leaves_out_the_counts_and_links_every_page() {
    let org = Org::start(SandboxOptions {
        actions: Some(250),
        ..options("paging=next-uri")
    })
    .await;
    let mut next = Some("/api/v2/integrations/actions?pageSize=100".to_owned());
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    while let Some(uri) = next {
        let (status, page) = org.get(&uri).await;
        assert_eq!(status, StatusCode::OK);
        for field in ["pageCount", "total", "lastUri"] {
            assert!(page.get(field).is_none(), "{field} in {uri}");
        }
        for entity in page["entities"].as_array().unwrap() {
            assert!(seen.insert(entity["id"].as_str().unwrap().to_owned()));
        }
        next = page["nextUri"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!((pages, seen.len()), (3, 250));
}

#[tokio::test]
async fn corrupt_writes_replace_a_template_on_the_first_patches_only() {
    let org = Org::start(SandboxOptions {
        corrupt_writes: 1,
        ..SandboxOptions::default()
    })
    .await;
    let action = org
        .pick(|a| editable(a) && a["config"]["request"]["requestTemplate"] != "${input.rawRequest}")
        .await;
    let id = action["id"].as_str().unwrap();
    let (status, _) = org
        .patch(&action_path(id), with_timeout(&action, json!(9)))
        .await;
    assert_eq!(status, StatusCode::OK);
    let corrupted = org.stored_action(id).await;
    assert_eq!(
        corrupted["config"]["request"]["requestTemplate"],
        "${input.rawRequest}"
    );
    // The second write is taken as sent.
    let (status, _) = org
        .patch(
            &action_path(id),
            with_timeout(&action_with_version(&action, &corrupted), json!(10)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        org.stored_action(id).await["config"]["request"]["requestTemplate"],
        action["config"]["request"]["requestTemplate"]
    );
}

/// `action` with the version of `now`.
fn action_with_version(action: &Value, now: &Value) -> Value {
    let mut action = action.clone();
    action["version"] = now["version"].clone();
    action
}

#[tokio::test]
async fn function_settings_change_through_draft_and_publish() {
    let org = Org::default().await;
    let (_, integrations) = org.get("/api/v2/integrations?pageSize=100").await;
    let types: BTreeSet<&str> = integrations["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["integrationType"]["id"].as_str().unwrap())
        .collect();
    for expected in [
        "custom-rest-actions",
        "purecloud-data-actions",
        "function-data-actions",
    ] {
        assert!(types.contains(expected), "{types:?}");
    }
    let first_two: Vec<&str> = integrations["entities"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let (_, chosen) = org
        .get(&format!(
            "/api/v2/integrations?ids={}&ids={}",
            first_two[0], first_two[1]
        ))
        .await;
    assert_eq!(chosen["total"], 2);
    let function_integration = integrations["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["integrationType"]["id"] == "function-data-actions")
        .unwrap()["id"]
        .clone();
    let action = org
        .pick(|a| a["integrationId"] == function_integration)
        .await;
    let id = action["id"].as_str().unwrap();
    let path = action_path(id);
    let version = action["version"].as_i64().unwrap();

    let (status, draft) = org.post(&format!("{path}/draft"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["version"], 1);
    let (status, _) = org.post(&format!("{path}/draft"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a second draft is refused");

    let (_, settings) = org.get(&format!("{path}/draft/function")).await;
    let mut function = settings["function"].clone();
    function["timeoutSeconds"] = json!(16);
    let (status, body) = org
        .json(
            Method::PUT,
            &format!("{path}/draft/function"),
            Some(function.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid.value");
    assert!(body["message"].as_str().unwrap().contains("1 and 15"));
    function["timeoutSeconds"] = json!(7);
    let (status, body) = org
        .json(
            Method::PUT,
            &format!("{path}/draft/function"),
            Some(function),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["function"]["timeoutSeconds"], 7);

    let (_, validation) = org.get(&format!("{path}/draft/validation")).await;
    assert_eq!(validation, json!({"valid": true, "errors": []}));
    let (_, published_before) = org.get(&format!("{path}/function")).await;
    assert_ne!(published_before["function"]["timeoutSeconds"], 7);

    let (status, _) = org
        .post(&format!("{path}/draft/publish"), json!({"version": 2}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a stale draft version");
    let (status, published) = org
        .post(&format!("{path}/draft/publish"), json!({"version": 1}))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["version"], version + 1);
    let (_, settings) = org.get(&format!("{path}/function")).await;
    assert_eq!(settings["function"]["timeoutSeconds"], 7);
    assert_eq!(
        org.get(&format!("{path}/draft")).await.0,
        StatusCode::NOT_FOUND
    );
    // Publishing kept the config, templates included.
    assert_eq!(org.stored_action(id).await["config"], action["config"]);

    let other = org.pick(editable).await;
    let (status, body) = org
        .get(&format!(
            "{}/function",
            action_path(other["id"].as_str().unwrap())
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not a function data action")
    );
}

#[tokio::test]
async fn draft_patch_checks_its_own_version() {
    let org = Org::default().await;
    let action = org.pick(editable).await;
    let path = action_path(action["id"].as_str().unwrap());
    assert_eq!(
        org.get(&format!("{path}/draft")).await.0,
        StatusCode::NOT_FOUND
    );
    org.post(&format!("{path}/draft"), json!({})).await;
    let mut config = action["config"].clone();
    config["timeoutSeconds"] = json!(33);
    let (status, _) = org
        .patch(
            &format!("{path}/draft"),
            json!({"version": 5, "config": config}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a stale draft version");
    let (status, draft) = org
        .patch(
            &format!("{path}/draft"),
            json!({"version": 1, "config": config}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(draft["version"], 2);
    let (_, published) = org
        .post(&format!("{path}/draft/publish"), json!({"version": 2}))
        .await;
    assert_eq!(published["config"]["timeoutSeconds"], 33);
}

#[tokio::test]
async fn the_drafts_listing_shows_each_draft_in_its_own_shape_with_the_listings_paging() {
    const DRAFTS: &str = "/api/v2/integrations/actions/drafts";
    for variant in [
        "templates=uri,paging=page-count",
        "templates=inline,paging=next-uri",
    ] {
        let org = Org::start(options(variant)).await;
        let (status, empty) = org.get(DRAFTS).await;
        assert_eq!(status, StatusCode::OK, "{variant}: {empty}");
        assert_eq!(empty["entities"], json!([]), "{variant}: no draft yet");

        // Three drafts; one renamed, so its draft differs from its action.
        let picked: Vec<Value> = org
            .stored()
            .await
            .into_iter()
            .filter(|a| editable(a) && a["config"]["request"]["requestTemplate"].is_string())
            .take(3)
            .collect();
        for action in &picked {
            let path = action_path(action["id"].as_str().unwrap());
            let (status, _) = org.post(&format!("{path}/draft"), json!({})).await;
            assert_eq!(status, StatusCode::OK);
        }
        let renamed = &picked[1];
        let renamed_id = renamed["id"].as_str().unwrap();
        let (status, _) = org
            .patch(
                &format!("{}/draft", action_path(renamed_id)),
                json!({"version": 1, "name": "Zz unfinished rework"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        // Page by page, two at a time, following nextUri as a client must.
        let mut listed: Vec<Value> = Vec::new();
        let mut next = Some(format!("{DRAFTS}?pageSize=2&includeConfig=true"));
        let mut pages = Vec::new();
        while let Some(uri) = next {
            let (status, page) = org.get(&uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            pages.push(page.clone());
            listed.extend(page["entities"].as_array().unwrap().iter().cloned());
            next = page["nextUri"].as_str().map(str::to_owned);
        }
        let ids: BTreeSet<&str> = listed.iter().map(|d| d["id"].as_str().unwrap()).collect();
        let wanted: BTreeSet<&str> = picked.iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids, wanted,
            "{variant}: every draft, each once, nothing else"
        );
        assert_eq!(listed.len(), 3, "{variant}");
        assert_eq!(pages.len(), 2, "{variant}: pageSize is honoured");
        match variant {
            "templates=uri,paging=page-count" => {
                assert_eq!(pages[0]["total"], 3);
                assert_eq!(pages[0]["pageCount"], 2);
            }
            _ => {
                for field in ["pageCount", "total", "lastUri"] {
                    assert!(pages[0].get(field).is_none(), "{variant}: {field}");
                }
            }
        }

        // The draft's shape: its own name and version, its own template URIs or text.
        let shown = listed.iter().find(|d| d["id"] == renamed_id).unwrap();
        assert_eq!(shown["name"], "Zz unfinished rework");
        assert_eq!(shown["version"], 2, "the draft's version, not the action's");
        assert_eq!(
            shown["selfUri"],
            format!("{}/draft", action_path(renamed_id))
        );
        let request = &shown["config"]["request"];
        if variant.starts_with("templates=inline") {
            assert_eq!(
                request["requestTemplate"], renamed["config"]["request"]["requestTemplate"],
                "the text inline"
            );
            assert!(request.get("requestTemplateUri").is_none());
        } else {
            assert_eq!(
                request["requestTemplateUri"],
                format!(
                    "{}/draft/templates/requesttemplate.vm",
                    action_path(renamed_id)
                )
            );
            assert!(request.get("requestTemplate").is_none());
        }
        // Sorted by the draft's name: the renamed one comes last.
        assert_eq!(listed[2]["id"], renamed_id, "{variant}");

        // The filters look at the draft, and config is there only when asked for.
        let (_, by_name) = org.get(&format!("{DRAFTS}?name=unfinished%20REWORK")).await;
        let by_name = by_name["entities"].as_array().unwrap();
        assert_eq!(by_name.len(), 1, "{variant}");
        assert_eq!(by_name[0]["id"], renamed_id);
        assert!(by_name[0].get("config").is_none(), "no config unless asked");
        let other = picked[0]["id"].as_str().unwrap();
        let (_, by_id) = org.get(&format!("{DRAFTS}?ids={other}")).await;
        assert_eq!(by_id["entities"].as_array().unwrap().len(), 1);
        assert_eq!(by_id["entities"][0]["id"], other);
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_the_documented_body() {
    let org = Org::start(SandboxOptions {
        rate_limit: 3,
        ..SandboxOptions::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(org.get("/api/v2/integrations").await.0, StatusCode::OK);
    }
    let response = org
        .call(Method::GET, "/api/v2/integrations", &org.token, None)
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let correlation = response.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "too.many.requests.retry.after");
    assert_eq!(body["status"], 429);
    assert_eq!(
        body["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{retry}] seconds")
    );
    assert_eq!(body["contextId"], correlation.as_str());
    assert_eq!(body["details"], json!([]));
    // Another token has its own window.
    let other = org.token_for("sandbox", "sandbox").await;
    let response = org
        .call(Method::GET, "/api/v2/integrations", &other, None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn faults_produce_429s_503s_and_dropped_connections() {
    let org = Org::start(SandboxOptions {
        fault_rate: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    let (mut throttled, mut unavailable, mut dropped) = (0, 0, 0);
    for _ in 0..60 {
        let result = org
            .http
            .get(org.url("/api/v2/integrations"))
            .bearer_auth(&org.token)
            .send()
            .await;
        match result {
            Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(response.headers()["retry-after"], "1");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "too.many.requests.retry.after");
                throttled += 1;
            }
            Ok(response) if response.status() == StatusCode::SERVICE_UNAVAILABLE => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "service.unavailable");
                unavailable += 1;
            }
            Ok(response) => panic!("unexpected {}", response.status()),
            Err(_) => dropped += 1,
        }
    }
    assert!(
        throttled > 0 && unavailable > 0 && dropped > 0,
        "{throttled} {unavailable} {dropped}"
    );

    // Writes: with every request faulted, a change can only land through a dropped connection
    // that happened after the write.
    let action = org.pick(editable).await;
    let id = action["id"].as_str().unwrap();
    let mut applied = 0;
    for _ in 0..40 {
        let current = org.stored_action(id).await;
        let result = org
            .http
            .patch(org.url(&action_path(id)))
            .bearer_auth(&org.token)
            .json(&with_timeout(&current, json!(20)))
            .send()
            .await;
        if let Ok(response) = &result {
            assert!(!response.status().is_success());
        }
        if org.stored_action(id).await["version"] != current["version"] {
            assert!(result.is_err(), "an applied write was answered");
            applied += 1;
        }
    }
    assert!(
        applied > 0,
        "no write was applied before its connection dropped"
    );

    let stats: Value = org
        .http
        .get(org.url("/sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dropped_counted: u64 = stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 0)
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert!(dropped_counted >= dropped as u64 + applied);
}

#[tokio::test]
async fn stats_count_requests_by_route_template_and_reset() {
    let org = Org::default().await;
    let stored = org.stored().await;
    for action in stored.iter().take(3) {
        org.get(&action_path(action["id"].as_str().unwrap())).await;
    }
    org.get(&action_path("missing")).await;
    // Two listings, one of them naming its actions: only that one is a lookup by ids.
    org.get("/api/v2/integrations/actions?pageSize=100").await;
    let first = stored[0]["id"].as_str().unwrap();
    org.get(&format!("/api/v2/integrations/actions?ids={first}"))
        .await;
    let stats: Value = org
        .http
        .get(org.url("/sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let requests = stats["requests"].as_array().unwrap();
    let count = |method: &str, route: &str, status: u16| {
        requests
            .iter()
            .find(|r| r["method"] == method && r["route"] == route && r["status"] == status)
            .map(|r| r["count"].as_u64().unwrap())
    };
    let template = "/api/v2/integrations/actions/{actionId}";
    assert_eq!(count("GET", template, 200), Some(3));
    assert_eq!(count("GET", template, 404), Some(1));
    assert_eq!(count("POST", "/oauth/token", 200), Some(1));
    assert_eq!(count("GET", "/api/v2/integrations/actions", 200), Some(2));
    assert_eq!(stats["listings_by_ids"], 1);
    assert!(
        requests
            .iter()
            .all(|r| !r["route"].as_str().unwrap().starts_with("/sandbox"))
    );

    let reset = org
        .http
        .post(org.url("/sandbox/stats/reset"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    let stats: Value = org
        .http
        .get(org.url("/sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats,
        json!({"requests": [], "tokens": {}, "peak_in_flight": 0, "listings_by_ids": 0})
    );
}

#[tokio::test]
async fn another_editor_bumps_the_version_so_a_stale_patch_conflicts() {
    let org = Org::default().await;
    let action = org.pick(editable).await;
    let id = action["id"].as_str().unwrap();
    let edited: Value = org
        .http
        .post(org.url(&format!("/sandbox/actions/{id}/edit")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(edited["version"], action["version"].as_i64().unwrap() + 1);
    assert_eq!(
        edited["name"],
        format!("{} (edited)", action["name"].as_str().unwrap())
    );
    let (status, body) = org
        .patch(&action_path(id), with_timeout(&action, json!(10)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not match the current version")
    );
    let (status, _) = org
        .patch(&action_path(id), with_timeout(&edited, json!(10)))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_a_correlation_id_equal_to_the_context_id() {
    let org = Org::default().await;
    let mut seen = BTreeSet::new();
    for path in ["/api/v2/integrations/actions/nope", "/api/v2/unknown"] {
        let response = org.call(Method::GET, path, &org.token, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let header = response.headers()["inin-correlation-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["contextId"], header.as_str());
        seen.insert(header);
    }
    let ok = org
        .call(Method::GET, "/api/v2/integrations", &org.token, None)
        .await;
    seen.insert(
        ok.headers()["inin-correlation-id"]
            .to_str()
            .unwrap()
            .to_owned(),
    );
    assert_eq!(seen.len(), 3, "a fresh id per request");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_org() {
    let org = |seed| async move {
        let sandbox = Sandbox::start(SandboxOptions {
            actions: Some(30),
            seed,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let url = format!("{}sandbox/actions", sandbox.base_url());
        reqwest::get(url)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let (a, b, c) = (org(11).await, org(11).await, org(12).await);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.as_array().unwrap().len(), 31);
}

#[tokio::test]
async fn latency_delays_api_responses() {
    let org = Org::start(SandboxOptions {
        latency_ms: 150,
        ..SandboxOptions::default()
    })
    .await;
    let start = std::time::Instant::now();
    let (status, _) = org.get("/api/v2/integrations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[test]
fn the_sandbox_guide_documents_every_variant_and_value() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/sandbox.md"),
    )
    .unwrap();
    let table = &guide[guide
        .find("## Platform variants")
        .expect("the variants section of docs/sandbox.md")..];
    for doc in dactl::sandbox::variants::VARIANTS {
        assert!(
            table.contains(&format!("| `{}` |", doc.option)),
            "{}",
            doc.option
        );
        for (index, (value, _)) in doc.values.iter().enumerate() {
            let cell = if index == 0 {
                format!("| **`{value}`** (default) |")
            } else {
                format!("| `{value}` |")
            };
            assert!(table.contains(&cell), "{} {value}", doc.option);
        }
    }
}
