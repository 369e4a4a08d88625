//! The token pool over real HTTP: what the sandbox counted per token (`/sandbox/stats`, keyed by
//! a hash of each token) shows where the client's requests went, and whether any token went over
//! its limit. No test here times the client: throughput is the benchmark's to measure
//! (`cargo bench --bench bulk`); these assert what makes it scale with the pool (requests spread
//! over every token, none throttled, tokens minted only as needed).

use std::collections::BTreeMap;
use std::time::Duration;

use dactl::genesys::{Client, ClientOptions, Credentials, RetryPolicy, Target};
use dactl::sandbox::{Sandbox, SandboxOptions};
use dactl::secret::Secret;
use serde_json::Value;

use crate::support::{Org, dactl_cmd, stderr};

const TOKEN_ROUTE: &str = "/oauth/token";

/// A pool of `tokens` at `rate` per minute per token, of the sandbox's default client.
fn pool_client(sandbox: &Sandbox, tokens: usize, rate: u32, concurrency: usize) -> Client {
    Client::new(ClientOptions {
        target: Target::local(sandbox.base_url()),
        credentials: Credentials::ClientCredentials {
            client_id: "sandbox".into(),
            client_secret: Secret::new("sandbox"),
        },
        rate_per_minute: rate,
        tokens,
        concurrency,
        retry: RetryPolicy {
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            // Well under the minute a token of these tests is told to wait after a 429: a call
            // that waited for that token instead of moving to another one would fail.
            max_total: Duration::from_secs(20),
            ..RetryPolicy::default()
        },
        request_timeout: Duration::from_secs(10),
    })
    .unwrap()
}

async fn stats(sandbox: &Sandbox) -> Value {
    let url = sandbox.base_url().join("/sandbox/stats").unwrap();
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Per token (by its hash): (admitted, throttled).
async fn per_token(sandbox: &Sandbox) -> BTreeMap<String, (u64, u64)> {
    stats(sandbox).await["tokens"]
        .as_object()
        .expect("stats carry `tokens`")
        .iter()
        .map(|(key, counts)| {
            let count = |field: &str| counts[field].as_u64().unwrap();
            (key.clone(), (count("admitted"), count("throttled")))
        })
        .collect()
}

/// Token requests the sandbox answered with `status`.
async fn token_requests(sandbox: &Sandbox, status: u64) -> u64 {
    stats(sandbox).await["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST" && r["route"] == TOKEN_ROUTE && r["status"] == status)
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

/// `n` reads of one action through `client`, all at once (the client's concurrency limits them).
async fn reads(client: &Client, id: &str, n: usize) {
    let calls = (0..n).map(|_| client.get_action(id, false));
    for result in futures::future::join_all(calls).await {
        result.expect("every read succeeds");
    }
}

/// The id of some action of the seed org.
async fn an_action(sandbox: &Sandbox) -> String {
    let url = sandbox.base_url().join("/sandbox/actions").unwrap();
    let actions: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    actions[0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_a_pool_spreads_requests_over_its_tokens_and_none_exceeds_its_limit() {
    // 300 reads at 240 a minute per token, the sandbox's limit too: more than one token is
    // allowed in a minute, so a token sent more than its share, or requests not spaced on their
    // token, meet 429s. Four tokens take about 20 s.
    let rate = 240;
    let sandbox = Sandbox::start(SandboxOptions {
        rate_limit: rate,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let id = an_action(&sandbox).await;
    let client = pool_client(&sandbox, 4, rate, 16);
    reads(&client, &id, 300).await;

    let tokens = per_token(&sandbox).await;
    // Busy all along, the pool grew to its size, and no further.
    assert_eq!(tokens.len(), 4, "{tokens:?}");
    assert_eq!(token_requests(&sandbox, 200).await, 4);
    assert!(
        tokens.values().all(|(_, throttled)| *throttled == 0),
        "a token went over its limit: {tokens:?}"
    );
    let admitted: u64 = tokens.values().map(|(admitted, _)| admitted).sum();
    assert_eq!(admitted, 300, "{tokens:?}");
    // Each token carried about a quarter; the first ones a little more, as the pool grows by one
    // token a round trip to the token endpoint.
    for (admitted, _) in tokens.values() {
        assert!(
            (56..=94).contains(admitted),
            "uneven spread (75 each ± 25 %): {tokens:?}"
        );
    }
}

/// A busy pool grows to its size at once: 18 reads at 60 a minute per token (one a second per
/// token) need every one of six tokens, and each token carries its share. The spacing (1 s) is
/// what a growing pool races against: each mint is one round trip to the sandbox, so the five
/// growth mints take a few milliseconds (under heavy load, a few hundred), and the first token
/// carries 3 (its first read, then one each second while the others carry theirs). Fails with
/// mints spaced apart (a second apart, the sixth token comes after five seconds, and the first
/// token carries 5 or 6), or a pool that stops short of its size (fewer than six tokens minted).
/// Counted by the sandbox, not timed: the counts hold unless the five mints together take over
/// two seconds (then the first token carries a fifth read).
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_pool_grows_to_its_size_at_once() {
    let sandbox = Sandbox::start(SandboxOptions {
        rate_limit: 600,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let id = an_action(&sandbox).await;
    let client = pool_client(&sandbox, 6, 60, 24);
    reads(&client, &id, 18).await;

    let tokens = per_token(&sandbox).await;
    assert_eq!(tokens.len(), 6, "{tokens:?}");
    assert_eq!(token_requests(&sandbox, 200).await, 6);
    assert_eq!(client.tokens_minted(), 6);
    // A fair share is 3; the first token, alone for its first round trips, one more at most.
    for (admitted, throttled) in tokens.values() {
        assert_eq!(*throttled, 0, "{tokens:?}");
        assert!(*admitted <= 4, "uneven spread: {tokens:?}");
    }
    assert_eq!(tokens.values().map(|(a, _)| a).sum::<u64>(), 18);
}

/// Work that needs more tokens gets them minted together, not one after another: five reads at
/// once, each token good for one a minute, each request 200 ms at the sandbox. After the first
/// token, a read that finds it busy mints the four missing tokens together, so the sandbox has
/// the first read and four token requests in flight at once. Minting one at a time, it never has
/// more than two (a read and the one mint). Counted by the sandbox, not timed.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_the_work_needs_are_minted_together() {
    let sandbox = Sandbox::start(SandboxOptions {
        latency_ms: 200,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let id = an_action(&sandbox).await;
    let reset = sandbox.base_url().join("/sandbox/stats/reset").unwrap();
    reqwest::Client::new().post(reset).send().await.unwrap();
    let client = pool_client(&sandbox, 5, 1, 8);
    reads(&client, &id, 5).await;
    assert_eq!(token_requests(&sandbox, 200).await, 5);
    assert_eq!(client.tokens_minted(), 5);
    let stats = stats(&sandbox).await;
    let peak = stats["peak_in_flight"].as_u64().unwrap();
    assert!(peak >= 5, "tokens minted one at a time: {stats}");
    let tokens = per_token(&sandbox).await;
    assert_eq!(tokens.len(), 5, "{tokens:?}");
    assert!(
        tokens.values().all(|counts| *counts == (1, 0)),
        "{tokens:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_never_waits_for_a_token_mints_only_one() {
    // Fifteen reads one after the other, each 100 ms at the server: at 60 000 a minute the token
    // is free again long before the next read, so no read ever waits for it, and the run outlasts
    // the 1 s between mints a pool that minted regardless of need would use.
    let sandbox = Sandbox::start(SandboxOptions {
        latency_ms: 100,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let id = an_action(&sandbox).await;
    let client = pool_client(&sandbox, 10, 60_000, 8);
    for _ in 0..15 {
        client.get_action(&id, false).await.unwrap();
    }
    assert_eq!(client.tokens_minted(), 1);
    assert_eq!(token_requests(&sandbox, 200).await, 1);
    let tokens = per_token(&sandbox).await;
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens.values().next(), Some(&(15, 0)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_on_one_token_leaves_the_others_working() {
    // The sandbox allows 100 requests a minute per token; the client sends 10 a second per token.
    let sandbox = Sandbox::start(SandboxOptions {
        rate_limit: 100,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let id = an_action(&sandbox).await;
    // Four requests in flight at most: that bounds the 429s below.
    let client = pool_client(&sandbox, 3, 600, 4);
    // Busy for about 2 s, the pool grows to its three tokens.
    reads(&client, &id, 60).await;
    let warm = per_token(&sandbox).await;
    assert_eq!(warm.len(), 3, "{warm:?}");

    // The test spends what is left of the first token's minute itself, until the sandbox answers
    // 429: the client's next request on it gets a 429 too, and a wait of about a minute.
    let issued: Value = reqwest::get(sandbox.base_url().join("/sandbox/tokens").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = issued["tokens"][0].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let url = sandbox
        .base_url()
        .join(&format!("/api/v2/integrations/actions/{id}"))
        .unwrap();
    for sent in 0.. {
        assert!(sent <= 100, "the sandbox never throttled the token");
        let answer = http.get(url.clone()).bearer_auth(&first).send().await;
        if answer.unwrap().status() == 429 {
            break;
        }
    }
    let spent = per_token(&sandbox).await;
    let (spent_key, &(spent_admitted, spent_throttled)) = spent
        .iter()
        .find(|(_, (admitted, _))| *admitted == 100)
        .expect("one token was admitted its 100");

    // Forty reads: one goes on the spent token (free as far as the client knows), gets the 429
    // and moves on; the rest go on the other two. Were every token paused for the minute, the
    // calls would run out of their 20 s (`max_total`).
    reads(&client, &id, 40).await;

    let tokens = per_token(&sandbox).await;
    let (admitted, throttled) = tokens[spent_key];
    // Not used again during its pause: nothing more admitted on it.
    assert_eq!(admitted, spent_admitted, "{tokens:?}");
    // Paused by its first 429: the requests that met a 429 on it all left before the first 429
    // came back, so they were in flight together, and the client has at most 4 in flight. A
    // pool that did not pause the token would send to it about every 100 ms (a third of the 40).
    // Counted, not timed: how many of the 4 left on it depends on the machine, the bound not.
    assert!(
        (1..=4).contains(&(throttled - spent_throttled)),
        "{tokens:?}"
    );
    let mut others = 0;
    for (key, (admitted, throttled)) in &tokens {
        if key == spent_key {
            continue;
        }
        let before = warm[key].0;
        assert!(
            *admitted > before && *throttled == 0,
            "a token stood idle or was throttled: {tokens:?}"
        );
        others += admitted - before;
    }
    assert_eq!(others, 40, "{tokens:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_grows_under_the_token_endpoints_limit_without_pressing_it() {
    // The token endpoint gives 2 tokens a minute; the client wants 5. The first two are minted,
    // the third is refused once, and the pool goes on with two for the rest of the minute.
    let sandbox = Sandbox::start(SandboxOptions {
        token_rate_limit: 2,
        rate_limit: 600,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let id = an_action(&sandbox).await;
    let client = pool_client(&sandbox, 5, 600, 16);
    // 80 reads at 10 a second per token: about 4 s on two tokens, time for the pool to try a
    // third token at 2 s and, were it to insist, a fourth and fifth.
    reads(&client, &id, 80).await;

    assert_eq!(token_requests(&sandbox, 200).await, 2);
    assert_eq!(client.tokens_minted(), 2);
    // Each token the run could not get was asked for once (the three together, as the pool
    // grows at once), not retried: a token the run can do without is not pressed for.
    assert_eq!(token_requests(&sandbox, 400).await, 3);
    let tokens = per_token(&sandbox).await;
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert!(tokens.values().all(|(_, throttled)| *throttled == 0));
    assert_eq!(tokens.values().map(|(a, _)| a).sum::<u64>(), 80);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_renews_only_the_token_that_got_it_and_repeats_on_it() {
    let first = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let id = an_action(&first).await;
    let client = pool_client(&first, 3, 600, 8);
    // Busy for about 3 s, the pool grows to its three tokens.
    reads(&client, &id, 60).await;
    assert_eq!(per_token(&first).await.len(), 3);
    assert_eq!(client.tokens_minted(), 3);

    // A sandbox restarted on the same port knows none of them: each gets a 401 on its next use.
    let address = first.base_url().clone();
    let listen = format!("127.0.0.1:{}", address.port().unwrap())
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
    // Every read succeeds: each repeat went on its own token, renewed, not on another stale one
    // (a second 401 would end the call).
    reads(&client, &id, 20).await;
    // Each token refused was refused once and renewed once; a token never refused (the run may
    // end before it is used) is not renewed. (Which tokens the run reached depends on timing:
    // two or three.)
    let refused: u64 = stats(&second).await["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 401)
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert!((1..=3).contains(&refused), "{refused} refusals");
    assert_eq!(token_requests(&second, 200).await, refused);
    assert_eq!(client.tokens_minted(), 3 + refused);
    let tokens = per_token(&second).await;
    assert_eq!(tokens.len() as u64, refused, "{tokens:?}");
    assert_eq!(
        tokens.values().map(|(a, _)| a).sum::<u64>(),
        20,
        "{tokens:?}"
    );
}

/// The note that a ready-made token is a pool of one.
const POOL_OF_ONE: &str = "is a pool of one token";

#[test]
fn a_ready_made_access_token_is_a_pool_of_one_and_says_so_once() {
    let org = Org::seed();
    let token: String = org.rt.block_on(async {
        let body: Value = reqwest::Client::new()
            .post(format!("{}{TOKEN_ROUTE}", org.url()))
            .basic_auth("sandbox", Some("sandbox"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    });
    let run = |args: &[&str]| {
        dactl_cmd()
            .args(["--environment", &org.url()])
            .args(args)
            .env("GENESYSCLOUD_ACCESS_TOKEN", &token)
            .output()
            .unwrap()
    };
    // `auth(#{region})` connects a second time, with the same token: still one note.
    let script = format!(
        "auth(#{{region: \"{}\"}}); list_actions().len() + list_actions().len()",
        org.url()
    );
    let out = run(&["--tokens", "4", "eval", &script]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert_eq!(said.matches(POOL_OF_ONE).count(), 1, "{said}");
    assert!(said.contains("GENESYSCLOUD_ACCESS_TOKEN"), "{said}");
    assert!(!said.contains(&token), "the token leaked: {said}");
    let tokens = org.rt.block_on(per_token(&org.sandbox));
    // Every request went with the token given; the client minted none (the one mint is the test's).
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(org.rt.block_on(token_requests(&org.sandbox, 200)), 1);

    // Asked for one token: nothing to say.
    let out = run(&["--tokens", "1", "eval", "list_actions().len()"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(POOL_OF_ONE), "{}", stderr(&out));
}
