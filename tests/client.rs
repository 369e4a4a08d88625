//! The Genesys client over real HTTP: against the sandbox for Genesys behaviour (what the server
//! received is read back from `/sandbox/stats` and `/sandbox/actions`), and against bare TCP
//! listeners for network faults (refused, dropped, silent).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use dactl::genesys::models::{Action, UpdateActionInput};
use dactl::genesys::{ActionQuery, Client, ClientOptions, Credentials, Error, RetryPolicy, Target};
use dactl::sandbox::{Sandbox, SandboxOptions};
use dactl::secret::Secret;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ACTION_ROUTE: &str = "/api/v2/integrations/actions/{actionId}";
const LIST_ROUTE: &str = "/api/v2/integrations/actions";
const TOKEN_ROUTE: &str = "/oauth/token";

/// Quick retries, so fault tests take seconds.
fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        ..RetryPolicy::default()
    }
}

fn options(target: Target, credentials: Credentials, rate_per_minute: u32) -> ClientOptions {
    ClientOptions {
        target,
        credentials,
        rate_per_minute,
        // One token, unless a test asks for a pool: the rate is then the client's, as before
        // there were pools.
        tokens: 1,
        concurrency: 8,
        retry: quick_retry(),
        request_timeout: Duration::from_secs(10),
    }
}

fn credentials(id: &str, secret: &str) -> Credentials {
    Credentials::ClientCredentials {
        client_id: id.into(),
        client_secret: Secret::new(secret),
    }
}

async fn start(options: SandboxOptions) -> Sandbox {
    Sandbox::start(options).await.expect("the sandbox starts")
}

/// A client of the sandbox's default client `sandbox:sandbox`.
fn client_of(sandbox: &Sandbox, rate_per_minute: u32) -> Client {
    let target = Target::local(sandbox.base_url());
    Client::new(options(
        target,
        credentials("sandbox", "sandbox"),
        rate_per_minute,
    ))
    .unwrap()
}

async fn inspect(sandbox: &Sandbox, path: &str) -> Value {
    let url = sandbox.base_url().join(path).unwrap();
    reqwest::get(url)
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Requests the sandbox answered, by method, route and (optionally) status.
async fn answered(sandbox: &Sandbox, method: &str, route: &str, status: Option<u64>) -> u64 {
    let stats = inspect(sandbox, "/sandbox/stats").await;
    stats["requests"]
        .as_array()
        .expect("stats carry `requests`")
        .iter()
        .filter(|r| r["method"] == method && r["route"] == route)
        .filter(|r| status.is_none_or(|s| r["status"].as_u64() == Some(s)))
        .map(|r| r["count"].as_u64().unwrap_or(0))
        .sum()
}

/// Requests the sandbox answered with this status, on any route.
async fn answered_with(sandbox: &Sandbox, status: u64) -> u64 {
    let stats = inspect(sandbox, "/sandbox/stats").await;
    stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"].as_u64() == Some(status))
        .map(|r| r["count"].as_u64().unwrap_or(0))
        .sum()
}

async fn stored_actions(sandbox: &Sandbox) -> Vec<Value> {
    inspect(sandbox, "/sandbox/actions?templates=text")
        .await
        .as_array()
        .expect("an array of actions")
        .clone()
}

/// An id of a plain action that can take a timeout (not static, not custom auth).
async fn some_action_id(client: &Client) -> String {
    let actions = client.list_actions(&ActionQuery::default()).await.unwrap();
    actions
        .iter()
        .find(|a| !a.id.starts_with("static"))
        .expect("the sandbox has actions")
        .id
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_token_serves_many_calls() {
    let sandbox = start(SandboxOptions::default()).await;
    let id = some_action_id(&client_of(&sandbox, 60_000)).await;
    // A fresh client: twenty calls at once find no token, and share one mint.
    let client = client_of(&sandbox, 60_000);
    let calls = (0..20).map(|_| {
        let client = client.clone();
        let id = id.clone();
        async move { client.get_action(&id, true).await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(client.tokens_minted(), 1);
    assert_eq!(answered(&sandbox, "POST", TOKEN_ROUTE, Some(200)).await, 2);
    assert_eq!(answered(&sandbox, "GET", ACTION_ROUTE, Some(200)).await, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_renewed_before_it_expires() {
    let sandbox = start(SandboxOptions {
        token_ttl_secs: 4,
        ..SandboxOptions::default()
    })
    .await;
    let client = client_of(&sandbox, 60_000);
    assert!(client.authenticate().await.unwrap() <= Duration::from_secs(4));
    let id = some_action_id(&client).await;
    assert_eq!(client.tokens_minted(), 1);
    // 3.3 s in: still valid at the server (4 s), but within the client's renewal margin (1 s).
    tokio::time::sleep(Duration::from_millis(3300)).await;
    client.get_action(&id, false).await.unwrap();
    assert_eq!(client.tokens_minted(), 2);
    // Renewed ahead of time: the API never saw an expired token.
    assert_eq!(answered_with(&sandbox, 401).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_mints_one_new_token_and_repeats_the_call_once() {
    // A sandbox restarted on the same port forgets every token: the cached one now gets a 401.
    let first = start(SandboxOptions::default()).await;
    let address = first.base_url().clone();
    let client = client_of(&first, 60_000);
    let id = some_action_id(&client).await;
    let listen = format!(
        "{}:{}",
        address.host_str().unwrap(),
        address.port().unwrap()
    )
    .parse()
    .unwrap();
    drop(first);
    let mut second = None;
    for _ in 0..50 {
        match Sandbox::start(SandboxOptions {
            listen,
            ..SandboxOptions::default()
        })
        .await
        {
            Ok(sandbox) => {
                second = Some(sandbox);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let second = second.expect("a sandbox restarts on the same port");
    let action = client.get_action(&id, false).await.unwrap();
    assert_eq!(action.id, id);
    assert_eq!(client.tokens_minted(), 2);
    assert_eq!(answered(&second, "GET", ACTION_ROUTE, Some(401)).await, 1);
    assert_eq!(answered(&second, "GET", ACTION_ROUTE, Some(200)).await, 1);
    assert_eq!(answered(&second, "POST", TOKEN_ROUTE, Some(200)).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_with_a_ready_made_token_is_final_and_says_what_to_do() {
    let sandbox = start(SandboxOptions::default()).await;
    let target = Target::local(sandbox.base_url());
    let token = "not-a-real-token-123";
    let client = Client::new(options(
        target,
        Credentials::AccessToken(Secret::new(token)),
        60_000,
    ))
    .unwrap();
    let err = client.get_action("any-id", false).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(client.tokens_minted(), 0);
    assert_eq!(answered(&sandbox, "GET", ACTION_ROUTE, Some(401)).await, 1);
    let text = err.to_string();
    assert!(
        text.contains("GENESYSCLOUD_ACCESS_TOKEN") && text.contains("`any-id`"),
        "{text}"
    );
    assert!(!text.contains(token), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_names_the_client_id_secret_and_region() {
    let sandbox = start(SandboxOptions::default()).await;
    let target = Target::local(sandbox.base_url());
    let client = Client::new(options(
        target,
        credentials("sandbox", "wrong-secret"),
        60_000,
    ))
    .unwrap();
    let err = client.get_action("any-id", false).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    let text = err.to_string();
    for part in [
        "client id or secret is wrong",
        sandbox.base_url().as_str().trim_end_matches('/'),
        "GENESYSCLOUD_OAUTHCLIENT_ID",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    assert!(!text.contains("wrong-secret"), "{text}");
    // Refused credentials are not a reason to try again.
    assert_eq!(answered(&sandbox, "POST", TOKEN_ROUTE, None).await, 1);
    assert_eq!(answered(&sandbox, "GET", ACTION_ROUTE, None).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_are_waited_out_and_retried() {
    let sandbox = start(SandboxOptions {
        fault_rate: 0.5,
        ..SandboxOptions::default()
    })
    .await;
    let client = client_of(&sandbox, 60_000);
    client.authenticate().await.unwrap();
    let ids: Vec<String> = stored_actions(&sandbox)
        .await
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .filter(|id| !id.starts_with("static"))
        .take(30)
        .collect();
    let started = Instant::now();
    for id in &ids {
        let action = client
            .get_action(id, true)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(&action.id, id);
    }
    let elapsed = started.elapsed();
    let n = ids.len() as u64;
    assert_eq!(answered(&sandbox, "GET", ACTION_ROUTE, Some(200)).await, n);
    let rate_limited = answered(&sandbox, "GET", ACTION_ROUTE, Some(429)).await;
    let unavailable = answered(&sandbox, "GET", ACTION_ROUTE, Some(503)).await;
    assert!(
        rate_limited >= 1 && unavailable >= 1,
        "429: {rate_limited}, 503: {unavailable}"
    );
    // Each 429 said `Retry-After: 1`, and it was honoured.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    // Dropped connections (recorded with status 0) were retried too; every attempt is accounted for.
    let dropped = answered(&sandbox, "GET", ACTION_ROUTE, Some(0)).await;
    assert!(
        dropped >= 1,
        "no dropped connection among {} attempts",
        client.requests_sent()
    );
    assert_eq!(
        client.requests_sent(),
        n + rate_limited + unavailable + dropped
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_whose_connection_dropped_goes_back_to_the_caller() {
    // Every request faults: 429s and 503s are retried, the first dropped connection ends the call.
    let sandbox = start(SandboxOptions {
        fault_rate: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    let target = Target::local(sandbox.base_url());
    let mut options = options(target, credentials("sandbox", "sandbox"), 60_000);
    options.retry = RetryPolicy {
        max_attempts: 100,
        base_delay: Duration::from_millis(1),
        ..quick_retry()
    };
    let client = Client::new(options).unwrap();
    let body = UpdateActionInput {
        name: None,
        category: None,
        config: None,
        version: 1,
    };
    let err = client.patch_action("any-id", &body).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(answered(&sandbox, "PATCH", ACTION_ROUTE, Some(0)).await, 1);
    let answered_all = answered(&sandbox, "PATCH", ACTION_ROUTE, None).await;
    assert_eq!(client.requests_sent(), answered_all);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_beyond_the_limit_ends_the_call_with_a_clear_error() {
    let sandbox = start(SandboxOptions {
        fault_rate: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    let target = Target::local(sandbox.base_url());
    let mut options = options(target, credentials("sandbox", "sandbox"), 60_000);
    // Limit below the sandbox's `Retry-After: 1`; plenty of attempts so a 429 comes up.
    options.retry = RetryPolicy {
        max_attempts: 200,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        max_retry_after: Duration::from_millis(500),
        ..RetryPolicy::default()
    };
    let client = Client::new(options).unwrap();
    let err = client.get_action("any-id", false).await.unwrap_err();
    let Error::RetryAfterTooLong { retry_after, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*retry_after, Duration::from_secs(1));
    let text = err.to_string();
    assert!(
        text.contains("wait 1 s") && text.contains("try again later"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_are_not_retried_and_say_what_to_fix() {
    let sandbox = start(SandboxOptions {
        read_only_clients: vec![("reader".into(), "reader-secret".into())],
        ..SandboxOptions::default()
    })
    .await;
    let client = client_of(&sandbox, 60_000);
    let id = some_action_id(&client).await;

    // 404: names the id, says where to look, carries the correlation id.
    let err = client
        .get_action("no-such-action", false)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.action_id(), Some("no-such-action"));
    let correlation = err.correlation_id().expect("a correlation id").to_string();
    let text = err.to_string();
    assert!(
        text.contains("`no-such-action`") && text.contains(&correlation),
        "{text}"
    );
    assert!(text.contains("--region"), "{text}");
    assert_eq!(answered(&sandbox, "GET", ACTION_ROUTE, Some(404)).await, 1);

    // 400: a timeout out of range.
    let action = client.get_action(&id, true).await.unwrap();
    let mut config = action.config.clone().unwrap_or_default();
    config.timeout_seconds = Some(5000);
    let body = UpdateActionInput {
        name: action.name.clone(),
        category: action.category.clone(),
        config: Some(config),
        version: action.version.unwrap(),
    };
    let err = client.patch_action(&id, &body).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains(&format!("`{id}`")), "{err}");
    assert_eq!(
        answered(&sandbox, "PATCH", ACTION_ROUTE, Some(400)).await,
        1
    );

    // 403: a read-only client; the message names the permission to add.
    let target = Target::local(sandbox.base_url());
    let reader = Client::new(options(
        target,
        credentials("reader", "reader-secret"),
        60_000,
    ))
    .unwrap();
    let mut config = action.config.clone().unwrap_or_default();
    config.timeout_seconds = Some(10);
    let body = UpdateActionInput {
        config: Some(config),
        ..body
    };
    let err = reader.patch_action(&id, &body).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    let text = err.to_string();
    for part in [
        "`integrations:action:edit`",
        "role",
        &format!("`{id}`"),
        err.correlation_id().unwrap(),
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    assert_eq!(
        answered(&sandbox, "PATCH", ACTION_ROUTE, Some(403)).await,
        1
    );

    // 409: a stale version.
    let stale = UpdateActionInput {
        version: action.version.unwrap() - 1,
        ..body
    };
    let err = client.patch_action(&id, &stale).await.unwrap_err();
    assert!(err.is_version_conflict(), "{err:?}");
    assert_eq!(answered(&sandbox, "PATCH", ACTION_ROUTE, None).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_stays_under_the_rate() {
    // 1000 requests at 30 000 per minute (one per 2 ms): at least 1998 ms, and the sandbox, limited
    // to the same rate, never answers 429.
    let rate = 30_000;
    let sandbox = start(SandboxOptions {
        rate_limit: rate,
        ..SandboxOptions::default()
    })
    .await;
    let client = client_of(&sandbox, rate);
    let id = some_action_id(&client).await;
    let before = client.requests_sent();
    let started = Instant::now();
    let calls = (0..1000).map(|_| {
        let client = client.clone();
        let id = id.clone();
        async move { client.get_action(&id, false).await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(client.requests_sent() - before, 1000);
    assert!(elapsed >= Duration::from_millis(1998), "{elapsed:?}");
    assert_eq!(answered_with(&sandbox, 429).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_spaced_at_a_per_minute_rate() {
    // 600 per minute is one request per 100 ms: 30 requests need at least 2.9 s.
    let sandbox = start(SandboxOptions {
        rate_limit: 600,
        ..SandboxOptions::default()
    })
    .await;
    let client = client_of(&sandbox, 600);
    client.authenticate().await.unwrap();
    let started = Instant::now();
    let calls = (0..30).map(|i| {
        let client = client.clone();
        async move { client.get_action(&format!("id-{i}"), false).await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(e) if e.status() == Some(404)))
    );
    assert_eq!(answered_with(&sandbox, 429).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_action_is_listed_in_one_request_per_hundred() {
    let sandbox = start(SandboxOptions {
        actions: Some(250),
        ..SandboxOptions::default()
    })
    .await;
    let client = client_of(&sandbox, 60_000);
    let all = client
        .list_actions(&ActionQuery {
            include_auth_actions: true,
            ..ActionQuery::default()
        })
        .await
        .unwrap();
    let stored = stored_actions(&sandbox).await;
    assert!(all.len() >= 250, "{}", all.len());
    let mut listed: Vec<&str> = all.iter().map(|a| a.id.as_str()).collect();
    let mut expected: Vec<&str> = stored.iter().map(|a| a["id"].as_str().unwrap()).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
    let pages = answered(&sandbox, "GET", LIST_ROUTE, Some(200)).await;
    assert_eq!(pages as usize, all.len().div_ceil(100));

    // 120 ids: three requests of at most 50, with config.
    let ids: Vec<String> = expected.iter().take(120).map(|id| id.to_string()).collect();
    let some = client
        .list_actions(&ActionQuery {
            ids: Some(ids.clone()),
            include_config: true,
            include_auth_actions: true,
            ..ActionQuery::default()
        })
        .await
        .unwrap();
    let mut got: Vec<String> = some.iter().map(|a| a.id.clone()).collect();
    got.sort();
    assert_eq!(got, ids);
    assert!(some.iter().all(|a| a.config.is_some()));
    assert_eq!(
        answered(&sandbox, "GET", LIST_ROUTE, Some(200)).await,
        pages + 3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_filter_with_no_ids_lists_no_action_and_sends_nothing() {
    let sandbox = start(SandboxOptions::default()).await;
    let client = client_of(&sandbox, 60_000);
    // No ids, and ids that name no action: on the wire either would be no filter, every action.
    for ids in [vec![], vec![String::new(), "  ".to_owned()]] {
        let listed = client
            .list_actions(&ActionQuery {
                ids: Some(ids.clone()),
                include_config: true,
                include_auth_actions: true,
                ..ActionQuery::default()
            })
            .await
            .unwrap();
        assert!(listed.is_empty(), "{ids:?} listed {} actions", listed.len());
    }
    assert_eq!(answered(&sandbox, "GET", LIST_ROUTE, None).await, 0);
    // `None` is no filter: every listable action.
    let all = client.list_actions(&ActionQuery::default()).await.unwrap();
    assert!(all.len() > 25, "{}", all.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn integrations_are_listed() {
    let sandbox = start(SandboxOptions::default()).await;
    let client = client_of(&sandbox, 60_000);
    let integrations = client.list_integrations().await.unwrap();
    let actions = client.list_actions(&ActionQuery::default()).await.unwrap();
    // Every action's integration is among them, and function data actions can be told apart.
    for action in &actions {
        if let Some(integration) = &action.integration_id {
            assert!(
                integrations.iter().any(|i| &i.id == integration),
                "{integration}"
            );
        }
    }
    assert!(integrations.iter().any(|i| {
        i.integration_type
            .as_ref()
            .is_some_and(|t| t.id == dactl::genesys::models::FUNCTION_INTEGRATION_TYPE)
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_modify_write_changes_only_the_timeout_and_version() {
    // Templates inline, so the read carries everything a write needs (with the default, URIs
    // only, the text must be fetched first: `change::templates_named_only_by_uri_are_kept`).
    let mut options = SandboxOptions::default();
    options.variants.apply("templates=inline").unwrap();
    let sandbox = start(options).await;
    let client = client_of(&sandbox, 60_000);
    let before = stored_actions(&sandbox).await;
    // Listed without `includeAuthActions`: no custom authentication action, which takes no timeout.
    let listed = client.list_actions(&ActionQuery::default()).await.unwrap();
    let target = before
        .iter()
        .find(|a| {
            let id = a["id"].as_str().unwrap();
            !id.starts_with("static") && listed.iter().any(|l| l.id == id)
        })
        .expect("an editable action");
    let id = target["id"].as_str().unwrap().to_string();
    let action = client.get_action(&id, true).await.unwrap();
    let mut config = action
        .config
        .clone()
        .expect("config with includeConfig=true");
    let new_timeout = if config.timeout_seconds == Some(42) {
        43
    } else {
        42
    };
    config.timeout_seconds = Some(new_timeout);
    let body = UpdateActionInput {
        name: action.name.clone(),
        category: action.category.clone(),
        config: Some(config),
        version: action.version.unwrap(),
    };
    let updated = client.patch_action(&id, &body).await.unwrap();
    assert_eq!(updated.version, Some(action.version.unwrap() + 1));

    let after = stored_actions(&sandbox).await;
    assert_eq!(before.len(), after.len());
    for (old, new) in before.iter().zip(&after) {
        if old["id"] != json!(id) {
            assert_eq!(old, new);
            continue;
        }
        let mut expected = old.clone();
        expected["config"]["timeoutSeconds"] = json!(new_timeout);
        expected["version"] = json!(old["version"].as_i64().unwrap() + 1);
        assert_eq!(&expected, new);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_named_only_by_uri_can_be_fetched() {
    let sandbox = start(SandboxOptions::default()).await;
    let client = client_of(&sandbox, 60_000);
    let stored = stored_actions(&sandbox).await;
    let actions = client
        .list_actions(&ActionQuery {
            include_config: true,
            ..ActionQuery::default()
        })
        .await
        .unwrap();
    let mut fetched = 0;
    for action in &actions {
        let Some(config) = &action.config else {
            continue;
        };
        let full = stored.iter().find(|a| a["id"] == json!(action.id)).unwrap();
        for (uri, text) in [
            (
                config.request_template_uri_only(),
                &full["config"]["request"]["requestTemplate"],
            ),
            (
                config.success_template_uri_only(),
                &full["config"]["response"]["successTemplate"],
            ),
        ] {
            let Some(uri) = uri else { continue };
            let file = uri.rsplit('/').next().unwrap();
            let got = client.get_template(&action.id, file).await.unwrap();
            assert_eq!(Some(got.as_str()), text.as_str(), "{} {file}", action.id);
            fetched += 1;
        }
    }
    assert!(
        fetched > 0,
        "the seed org has actions whose config names templates by URI only"
    );
}

/// A TCP listener that answers every request with `200` and this JSON body.
async fn canned_server(body: &'static str) -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_does_not_fit_the_model_names_the_json_path() {
    let base = canned_server(r#"{"entities":[{"id":"a","version":"three"}],"pageCount":1}"#).await;
    let client = token_client(&base, quick_retry(), Duration::from_secs(5));
    let err = client
        .list_actions(&ActionQuery::default())
        .await
        .unwrap_err();
    let Error::Decode { path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "entities[0].version");
    assert!(err.to_string().contains("`entities[0].version`"), "{err}");
}

/// A TCP listener that accepts, reads the request, and closes without answering (`drop`), or
/// never answers (`silent`); counts the connections.
async fn faulty_server(silent: bool) -> (url::Url, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let connections = Arc::new(AtomicU32::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                if silent {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, connections)
}

fn token_client(base: &url::Url, policy: RetryPolicy, timeout: Duration) -> Client {
    let mut options = options(
        Target::local(base),
        Credentials::AccessToken(Secret::new("t")),
        60_000,
    );
    options.retry = policy;
    options.request_timeout = timeout;
    Client::new(options).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_connections_are_retried_for_reads_but_not_for_writes() {
    let policy = RetryPolicy {
        max_attempts: 4,
        ..quick_retry()
    };
    let (base, connections) = faulty_server(false).await;
    let client = token_client(&base, policy, Duration::from_secs(5));
    let err = client.get_action("a", false).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(client.requests_sent(), 4);
    assert_eq!(connections.load(Ordering::SeqCst), 4);

    // The PATCH may have been applied before the connection dropped: it goes back to the caller.
    let body = UpdateActionInput {
        name: None,
        category: None,
        config: None,
        version: 1,
    };
    let before = client.requests_sent();
    let err = client.patch_action("a", &body).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(client.requests_sent() - before, 1);
    assert!(err.to_string().contains("Check the network"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_connections_are_retried_even_for_writes() {
    // Bind and close a port so nothing listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let client = token_client(
        &base,
        RetryPolicy {
            max_attempts: 3,
            ..quick_retry()
        },
        Duration::from_secs(5),
    );
    let body = UpdateActionInput {
        name: None,
        category: None,
        config: None,
        version: 1,
    };
    let err = client.patch_action("a", &body).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(client.requests_sent(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_server_times_out_with_a_clear_error() {
    let (base, _) = faulty_server(true).await;
    let policy = RetryPolicy {
        max_attempts: 2,
        ..quick_retry()
    };
    let client = token_client(&base, policy, Duration::from_millis(300));
    let started = Instant::now();
    let err = client.get_action("a", false).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// JSON object keys that are not fields of the models.
fn extra_key() -> impl Strategy<Value = String> {
    "x[A-Za-z0-9_]{0,8}"
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(extra_key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn extras() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(extra_key(), json_value(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    /// Fields the models do not know survive deserialize → set timeout → serialize, at the action,
    /// config, request and response levels.
    #[test]
    fn unknown_fields_survive_a_timeout_change(
        top in extras(),
        in_config in extras(),
        in_request in extras(),
        in_response in extras(),
        old in prop::option::of(1i64..=60),
        new in 1i64..=60,
    ) {
        let mut config = json!({
            "request": {"requestUrlTemplate": "https://example.com", "requestType": "GET", "headers": {}},
            "response": {"translationMap": {}, "successTemplate": "${rawResult}"},
        });
        if let Some(old) = old {
            config["timeoutSeconds"] = json!(old);
        }
        config.as_object_mut().unwrap().extend(in_config);
        config["request"].as_object_mut().unwrap().extend(in_request);
        config["response"].as_object_mut().unwrap().extend(in_response);
        let mut original = json!({
            "id": "custom_-_1", "name": "Lookup", "integrationId": "int-1", "category": "Web",
            "version": 3, "secure": false, "config": config,
        });
        original.as_object_mut().unwrap().extend(top);

        let mut action: Action = serde_json::from_value(original.clone()).unwrap();
        action.config.as_mut().unwrap().timeout_seconds = Some(new);
        let written = serde_json::to_value(&action).unwrap();

        let mut expected = original;
        expected["config"]["timeoutSeconds"] = json!(new);
        prop_assert_eq!(written, expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoints_rate_limit_is_retried_then_reported() {
    let sandbox = start(SandboxOptions {
        token_rate_limit: 1,
        ..SandboxOptions::default()
    })
    .await;
    client_of(&sandbox, 60_000).authenticate().await.unwrap();
    // A second client of the same OAuth client exceeds one token per minute.
    let target = Target::local(sandbox.base_url());
    let mut options = options(target, credentials("sandbox", "sandbox"), 60_000);
    options.retry = RetryPolicy {
        max_attempts: 3,
        ..quick_retry()
    };
    let second = Client::new(options).unwrap();
    let err = second.authenticate().await.unwrap_err();
    let Error::Auth {
        status: 400, error, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(error, "invalid_request");
    assert_eq!(answered(&sandbox, "POST", TOKEN_ROUTE, Some(400)).await, 3);
    // Not mistaken for wrong credentials.
    let text = err.to_string();
    assert!(
        text.contains("rate limit") && !text.contains("secret is wrong"),
        "{text}"
    );
    assert_eq!(second.tokens_minted(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_timeout_goes_through_a_draft() {
    use dactl::genesys::models::{FUNCTION_INTEGRATION_TYPE, UpdateDraftInput};
    let sandbox = start(SandboxOptions::default()).await;
    let client = client_of(&sandbox, 60_000);
    let integrations = client.list_integrations().await.unwrap();
    let actions = client.list_actions(&ActionQuery::default()).await.unwrap();
    let function = actions
        .iter()
        .find(|a| {
            integrations.iter().any(|i| {
                Some(&i.id) == a.integration_id.as_ref()
                    && i.integration_type
                        .as_ref()
                        .is_some_and(|t| t.id == FUNCTION_INTEGRATION_TYPE)
            })
        })
        .expect("the seed org has a function data action");
    let id = function.id.as_str();
    let published = client.get_function(id).await.unwrap();

    let draft = client.create_draft(id).await.unwrap();
    let draft = client.get_draft(id, true).await.unwrap_or(draft);
    let mut config = draft.config.clone().expect("the draft's config");
    config.timeout_seconds = Some(20);
    let patched = client
        .patch_draft(
            id,
            &UpdateDraftInput {
                name: draft.name.clone(),
                category: draft.category.clone(),
                config: Some(config),
                contract: None,
                secure: None,
                version: draft.version.unwrap(),
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.version, Some(draft.version.unwrap() + 1));

    let settings = client.get_draft_function(id).await.unwrap();
    let mut function_settings = settings.function.clone().expect("function settings");
    let new_timeout = if function_settings.timeout_seconds == Some(9) {
        8
    } else {
        9
    };
    function_settings.timeout_seconds = Some(new_timeout);
    let put = client
        .put_draft_function(id, &function_settings)
        .await
        .unwrap();
    assert_eq!(put.function.unwrap().timeout_seconds, Some(new_timeout));

    let validation = client.validate_draft(id).await.unwrap();
    assert!(validation.valid, "{:?}", validation.errors);
    let version = client.get_draft(id, false).await.unwrap().version.unwrap();
    let action = client.publish_draft(id, version).await.unwrap();
    assert_eq!(action.version, Some(function.version.unwrap() + 1));
    assert_eq!(action.config.unwrap().timeout_seconds, Some(20));

    let now = client.get_function(id).await.unwrap();
    assert_eq!(
        now.function.as_ref().unwrap().timeout_seconds,
        Some(new_timeout)
    );
    // Everything else of the function settings is as it was.
    let mut expected = published.clone();
    expected.function.as_mut().unwrap().timeout_seconds = Some(new_timeout);
    assert_eq!(now, expected);
}
