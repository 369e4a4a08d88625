//! The Rhai host against the sandbox over real HTTP: every host function, each bad timeout, a
//! 404, error maps, imports, shebangs, error rendering and engine limits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dactl::config::Settings;
use dactl::genesys::{Credentials, Target};
use dactl::output::Printer;
use dactl::sandbox::SandboxOptions;
use dactl::script::values::ScriptAction;
use dactl::script::{Host, ScriptError};
use dactl::secret::Secret;
use dactl::session::{Connection, Session, SessionOptions};
use rhai::{Array, Dynamic, Map};

use crate::support::{Org, diff, scratch, temp_dir};

pub fn session(dry_run: bool) -> Session {
    let options = SessionOptions {
        dry_run,
        journal: Some(scratch("journal.jsonl")),
        rate_per_minute: 6000,
        tokens: 0,
        concurrency: 8,
        ..SessionOptions::default()
    };
    Session::connect(
        Connection::Sandbox(SandboxOptions {
            rate_limit: 6000,
            ..SandboxOptions::default()
        }),
        options,
    )
    .expect("the sandbox session starts")
}

/// A host connected over HTTP to `org`, a sandbox the test can inspect directly.
fn org_host(org: &Org, dry_run: bool) -> Host {
    let settings = Settings {
        target: Target::local(org.sandbox.base_url()),
        credentials: Credentials::ClientCredentials {
            client_id: "sandbox".into(),
            client_secret: Secret::new("sandbox"),
        },
        rate_per_minute: 6000,
        tokens: 10,
        concurrency: 8,
        credential_source: None,
    };
    let options = SessionOptions {
        dry_run,
        journal: Some(scratch("journal.jsonl")),
        rate_per_minute: 6000,
        tokens: 0,
        concurrency: 8,
        ..SessionOptions::default()
    };
    let session =
        Session::connect(Connection::Remote(settings), options).expect("connects to the org");
    let host = Host::new(session, Printer::default());
    host.capture_prints(true);
    host
}

/// A host on its own sandbox, with `print` output captured.
pub fn host() -> Host {
    let host = Host::new(session(false), Printer::default());
    host.capture_prints(true);
    host
}

fn eval(host: &mut Host, source: &str) -> Dynamic {
    host.eval(source)
        .unwrap_or_else(|e| panic!("`{source}` failed:\n{e}"))
}

/// The error map `statement` throws (a script's `try`/`catch` is a statement, not an expression).
fn caught(host: &mut Host, statement: &str) -> Map {
    let value = eval(
        host,
        &format!("let caught = (); try {{ {statement}; }} catch (e) {{ caught = e; }} caught"),
    );
    assert!(
        value.is_map(),
        "`{statement}` did not throw a map: {value:?}"
    );
    value.try_cast::<Map>().unwrap()
}

/// A map, or the map an action or a change reads as.
fn map(value: Dynamic) -> Map {
    dactl::script::values::as_map(&value).expect("a map, an action or a change")
}

fn text(m: &Map, key: &str) -> String {
    m.get(key).map(|v| v.to_string()).unwrap_or_default()
}

/// The id of the first action of `kind` in the sandbox.
fn first_of_kind(host: &mut Host, kind: &str) -> String {
    let found = eval(
        host,
        &format!("list_actions(#{{include_auth: true}}).filter(|a| a.kind == \"{kind}\")"),
    );
    let found = found.try_cast::<Array>().unwrap();
    assert!(!found.is_empty(), "the sandbox has no {kind} action");
    text(&map(found[0].clone()), "id")
}

#[test]
fn auth_returns_region_base_and_lifetime_never_a_token() {
    let mut host = host();
    let a = map(eval(&mut host, "auth()"));
    let keys: Vec<&str> = a.keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["api_base", "expires_in", "region"]);
    assert!(a["expires_in"].as_int().unwrap() > 0);
    assert!(
        text(&a, "api_base").starts_with("http://127.0.0.1:"),
        "{a:?}"
    );
}

#[test]
fn auth_with_options_reconnects_and_bad_secrets_throw_a_map() {
    let mut host = host();
    let base = map(eval(&mut host, "auth()"))["api_base"].to_string();
    let ok = map(eval(
        &mut host,
        &format!(
            "auth(#{{region: \"{base}\", client_id: \"sandbox\", client_secret: \"sandbox\"}})"
        ),
    ));
    assert_eq!(
        text(&ok, "api_base").trim_end_matches('/'),
        base.trim_end_matches('/')
    );
    let e = caught(
        &mut host,
        &format!("auth(#{{region: \"{base}\", client_id: \"sandbox\", client_secret: \"wrong\"}})"),
    );
    assert!(matches!(e["status"].as_int(), Ok(400 | 401)), "{e:?}");
    assert!(
        !format!("{e:?}").contains("wrong"),
        "the secret leaked: {e:?}"
    );
    let half = host.eval("auth(#{client_id: \"x\"})").unwrap_err();
    assert!(half.rendered.contains("client_secret"), "{half}");
}

#[test]
fn fetch_action_returns_the_documented_map() {
    let mut host = host();
    let id = first_of_kind(&mut host, "standard");
    let a = map(eval(&mut host, &format!("fetch_action(\"{id}\")")));
    for key in [
        "id",
        "name",
        "category",
        "integration_id",
        "version",
        "secure",
        "timeout_seconds",
        "kind",
        "config",
    ] {
        assert!(a.contains_key(key), "missing `{key}` in {a:?}");
    }
    assert_eq!(text(&a, "id"), id);
    assert_eq!(text(&a, "kind"), "standard");
    assert!(a["config"].is_map(), "config is the full config map: {a:?}");
}

/// An action and a change are the host's own values, read like the maps they replace: every
/// field, `in`, indexing, `()` for what they lack, printing, JSON, equality; read-only, with
/// `to_map()` as the copy to change.
#[test]
fn actions_and_changes_read_like_the_maps_they_replace() {
    let org = Org::seed();
    let mut host = org_host(&org, false);
    let standard = first_of_kind(&mut host, "standard");
    let checks = eval(
        &mut host,
        &format!(
            r#"
            let a = fetch_action("{standard}");
            let m = a.to_map();
            let f = list_actions().filter(|x| x.kind == "function")[0];
            [
                type_of(a) == "action", type_of(m) == "map",
                a.id == m.id, a["name"] == m.name, a.category == m["category"],
                a.version == m.version, a.timeout_seconds == m.timeout_seconds,
                type_of(a.config) == "map", a.config == m.config,
                "config" in a, !("nope" in a), a.nope == (), a["nope"] == (),
                !("function_timeout_seconds" in a), "function_timeout_seconds" in f,
                a.keys() == m.keys(), `${{a}}` == `${{m}}`, a.to_json() == m.to_json(),
                a == fetch_action("{standard}"), a != f,
            ]
            "#
        ),
    )
    .try_cast::<Array>()
    .unwrap();
    let failed: Vec<usize> = (0..checks.len())
        .filter(|&i| !checks[i].as_bool().unwrap())
        .collect();
    assert!(failed.is_empty(), "checks {failed:?} failed: {checks:?}");

    let e = host
        .eval(&format!(
            r#"let a = fetch_action("{standard}"); a.name = "x";"#
        ))
        .unwrap_err();
    assert!(
        e.rendered.contains("read-only") && e.rendered.contains("to_map()"),
        "{e}"
    );
    let copy = eval(
        &mut host,
        &format!(r#"let m = fetch_action("{standard}").to_map(); m.name = "x"; m.name"#),
    );
    assert_eq!(copy.to_string(), "x");

    let change = eval(
        &mut host,
        &format!(
            r#"
            let c = update_timeout("{standard}", 41);
            let m = c.to_map();
            [type_of(c), c.status, c.after, c.before == m.before, `${{c}}` == `${{m}}`,
             c.keys() == m.keys(), "reason" in c, c.reason == ()]
            "#
        ),
    )
    .try_cast::<Array>()
    .unwrap();
    let shown: Vec<String> = change.iter().map(|v| v.to_string()).collect();
    assert_eq!(
        shown,
        [
            "change", "updated", "41", "true", "true", "true", "true", "true"
        ]
    );
    // What `verify` and the tables take: a change, or a map of one.
    let v = map(eval(
        &mut host,
        &format!(
            r#"verify([update_timeout("{standard}", 41), update_timeout("{standard}", 41).to_map()])"#
        ),
    ));
    assert_eq!(v["checked"].as_int().unwrap(), 2, "{v:?}");
    assert!(v["ok"].as_bool().unwrap(), "{v:?}");
}

/// The script's actions are the host's: the host keeps no copy of its own (a weak note only),
/// and a bulk change works on the script's values, then lets them go.
#[test]
fn a_listing_is_held_once_by_the_script_not_copied_by_the_host() {
    let org = Org::seed();
    let mut host = org_host(&org, false);
    let _ = eval(&mut host, "let all = list_actions(); ()");
    let counts = |host: &Host| {
        let all = host.scope().get_value::<Array>("all").unwrap();
        let first = all[0].read_lock::<ScriptAction>().unwrap().0.clone();
        // This test's `first` and the clone of the array it came from are two; the script's
        // variable is the third.
        (
            std::sync::Arc::strong_count(&first),
            std::sync::Arc::weak_count(&first),
        )
    };
    assert_eq!(counts(&host), (3, 1));
    let changes = eval(
        &mut host,
        "update_timeouts(all, |a| if a.kind == \"standard\" { 33 } else { () })",
    )
    .try_cast::<Array>()
    .unwrap();
    assert!(changes.len() > 25);
    assert_eq!(counts(&host).0, 3, "the bulk change kept no reference");
}

#[test]
fn a_missing_action_throws_a_404_map_with_its_id() {
    let mut host = host();
    let e = caught(&mut host, "fetch_action(\"no-such-action\")");
    assert_eq!(e["status"].as_int().unwrap(), 404);
    assert_eq!(text(&e, "action_id"), "no-such-action");
    assert!(!e["retryable"].as_bool().unwrap());
    for key in ["code", "message", "correlation_id"] {
        assert!(e.contains_key(key), "{e:?}");
    }
    // Uncaught, it is rendered with the position and the ids.
    let err = host
        .eval("let x = 1;\nfetch_action(\"no-such-action\")")
        .unwrap_err();
    assert!(err.rendered.contains("<repl>:2:1"), "{err}");
    assert!(
        err.rendered.contains("status 404") && err.rendered.contains("`no-such-action`"),
        "{err}"
    );
}

#[test]
fn list_actions_reads_every_page_with_config_and_filters() {
    let mut host = host();
    let all = eval(&mut host, "list_actions()")
        .try_cast::<Array>()
        .unwrap();
    assert!(all.len() > 25, "more than one page of 25: {}", all.len());
    assert!(all.iter().all(|a| map(a.clone())["config"].is_map()));
    let first = map(all[0].clone());
    let category = text(&first, "category");
    let same = eval(
        &mut host,
        &format!("list_actions(#{{category: \"{category}\"}})"),
    )
    .try_cast::<Array>()
    .unwrap();
    assert!(
        !same.is_empty()
            && same
                .iter()
                .all(|a| text(&map(a.clone()), "category") == category)
    );
    let ids = [text(&first, "id"), text(&map(all[1].clone()), "id")];
    let two = eval(
        &mut host,
        &format!("list_actions(#{{ids: [\"{}\", \"{}\"]}})", ids[0], ids[1]),
    );
    assert_eq!(two.try_cast::<Array>().unwrap().len(), 2);
    let with_auth = eval(&mut host, "list_actions(#{include_auth: true})")
        .try_cast::<Array>()
        .unwrap();
    assert!(with_auth.len() >= all.len());
    let typo = host.eval("list_actions(#{categroy: \"x\"})").unwrap_err();
    assert!(typo.rendered.contains("`categroy`"), "{typo}");
}

#[test]
fn update_timeout_updates_then_reports_unchanged_and_verifies() {
    let org = Org::seed();
    let mut host = org_host(&org, false);
    let id = first_of_kind(&mut host, "standard");
    let before = org.actions();
    let c = map(eval(&mut host, &format!("update_timeout(\"{id}\", 37)")));
    // Only the timeout (and the version the platform bumps) changed, on that action only.
    let changed = diff(&before, &org.actions());
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, id);
    assert_eq!(
        changed[0].1,
        [".config.timeoutSeconds", ".version"],
        "{changed:?}"
    );
    let writes = org.writes();
    assert_eq!(text(&c, "status"), "updated", "{c:?}");
    assert_eq!(c["after"].as_int().unwrap(), 37);
    for key in ["id", "name", "before", "after", "status", "reason"] {
        assert!(c.contains_key(key), "{c:?}");
    }
    let again = map(eval(
        &mut host,
        &format!("update_timeout(fetch_action(\"{id}\"), \"37s\")"),
    ));
    assert_eq!(text(&again, "status"), "unchanged", "{again:?}");
    assert_eq!(org.writes(), writes, "an unchanged action costs no write");
    // A stale action map (read before the write) is read again, not written blindly.
    let _ = eval(
        &mut host,
        &format!("let stale = fetch_action(\"{id}\"); update_timeout(stale, 39);"),
    );
    let writes = org.writes();
    let third = map(eval(&mut host, "update_timeout(stale, 39)"));
    assert_eq!(text(&third, "status"), "unchanged", "{third:?}");
    assert_eq!(org.writes(), writes, "no write, not even a conflicting one");
    let last = map(eval(
        &mut host,
        &format!("let last = update_timeout(\"{id}\", 37); verify(last)"),
    ));
    assert!(last["ok"].as_bool().unwrap(), "{last:?}");
    assert_eq!(last["checked"].as_int().unwrap(), 1, "{last:?}");
    let wrong = map(eval(
        &mut host,
        "let wrong = last.to_map(); wrong.after = 38; verify(wrong)",
    ));
    assert!(!wrong["ok"].as_bool().unwrap(), "{wrong:?}");
    assert_eq!(
        org.action(&id)["config"]["timeoutSeconds"],
        37,
        "the server holds the new timeout"
    );
}

#[test]
fn each_bad_timeout_throws_and_changes_nothing() {
    let org = Org::seed();
    let mut host = org_host(&org, false);
    let id = first_of_kind(&mut host, "standard");
    let before = map(eval(&mut host, &format!("fetch_action(\"{id}\")")))["version"].clone();
    for bad in [
        "0",
        "61",
        "-1",
        "1.5",
        "\"abc\"",
        "5000",
        "\"1500ms\"",
        "\"\"",
    ] {
        let e = caught(&mut host, &format!("update_timeout(\"{id}\", {bad})"));
        assert_eq!(text(&e, "code"), "invalid.timeout", "{bad}: {e:?}");
        assert!(!text(&e, "message").is_empty(), "{bad}: {e:?}");
        assert!(!e["retryable"].as_bool().unwrap());
        if bad == "5000" {
            let m = text(&e, "message");
            assert!(
                m.contains("seconds") && m.contains("5000ms"),
                "5000 must explain the unit: {m}"
            );
        }
    }
    let after = map(eval(&mut host, &format!("fetch_action(\"{id}\")")))["version"].clone();
    assert_eq!(
        before.as_int().unwrap(),
        after.as_int().unwrap(),
        "a bad timeout must not write"
    );
}

#[test]
fn update_timeouts_fixed_skips_static_and_verifies_in_batches() {
    let mut host = host();
    let statik = first_of_kind(&mut host, "static");
    let changes = eval(
        &mut host,
        &format!("let targets = list_actions().filter(|a| a.kind == \"standard\"); targets.push(\"{statik}\"); update_timeouts(targets, \"45s\")"),
    )
    .try_cast::<Array>()
    .unwrap();
    let changes: Vec<Map> = changes.into_iter().map(map).collect();
    assert!(changes.iter().any(|c| text(c, "id") == statik
        && text(c, "status") == "skipped"
        && !text(c, "reason").is_empty()));
    let updated = changes
        .iter()
        .filter(|c| text(c, "status") == "updated")
        .count();
    assert!(updated > 1, "{changes:?}");
    let _ = eval(&mut host, "let all = list_actions();");
    let v = map(eval(
        &mut host,
        "let changes = update_timeouts(all.filter(|a| a.kind == \"standard\"), 45); verify(changes)",
    ));
    assert!(v["ok"].as_bool().unwrap(), "{v:?}");
    assert!(v["checked"].as_int().unwrap() as usize >= updated);
    assert!(
        v["mismatches"]
            .clone()
            .try_cast::<Array>()
            .unwrap()
            .is_empty()
    );
    let missing = map(eval(
        &mut host,
        "update_timeouts([\"no-such-action\"], 30)[0]",
    ));
    assert_eq!(text(&missing, "status"), "failed");
}

#[test]
fn update_timeouts_with_a_closure_decides_per_action() {
    let mut host = host();
    let changes = eval(
        &mut host,
        "let seen = 0;
         let targets = list_actions().filter(|a| a.kind == \"standard\");
         let changes = update_timeouts(targets, |a| if a.name.len() % 2 == 0 { 20 } else { () });
         changes",
    )
    .try_cast::<Array>()
    .unwrap();
    assert!(!changes.is_empty());
    for c in changes.into_iter().map(map) {
        let a = map(eval(
            &mut host,
            &format!("fetch_action(\"{}\")", text(&c, "id")),
        ));
        if text(&a, "name").len().is_multiple_of(2) {
            assert_eq!(a["timeout_seconds"].as_int().unwrap(), 20, "{c:?}");
            assert!(
                ["updated", "unchanged"].contains(&text(&c, "status").as_str()),
                "{c:?}"
            );
        } else {
            assert_ne!(text(&c, "status"), "updated", "{c:?}");
        }
    }
    let bad = eval(
        &mut host,
        "update_timeouts(list_actions().filter(|a| a.kind == \"standard\"), |a| 5000)",
    )
    .try_cast::<Array>()
    .unwrap();
    assert!(
        bad.into_iter()
            .map(map)
            .all(|c| text(&c, "status") == "failed" && text(&c, "reason").contains("5000"))
    );
}

#[test]
fn dry_run_plans_and_writes_nothing() {
    let org = Org::seed();
    let mut host = org_host(&org, true);
    assert!(eval(&mut host, "dry_run()").as_bool().unwrap());
    let id = first_of_kind(&mut host, "standard");
    let before = map(eval(&mut host, &format!("fetch_action(\"{id}\")")));
    let target = if before["timeout_seconds"].as_int().ok() == Some(12) {
        13
    } else {
        12
    };
    let c = map(eval(
        &mut host,
        &format!("update_timeout(\"{id}\", {target})"),
    ));
    assert_eq!(text(&c, "status"), "planned");
    let after = map(eval(&mut host, &format!("fetch_action(\"{id}\")")));
    assert_eq!(
        before["version"].as_int().unwrap(),
        after["version"].as_int().unwrap()
    );
}

#[test]
fn function_actions_take_their_own_timeout_and_custom_auth_is_skipped() {
    let mut host = host();
    let f = first_of_kind(&mut host, "function");
    let c = map(eval(
        &mut host,
        &format!("let fc = update_timeout(\"{f}\", 14); fc"),
    ));
    assert_eq!(text(&c, "status"), "updated", "{c:?}");
    let v = map(eval(&mut host, "verify(fc)"));
    assert!(v["ok"].as_bool().unwrap(), "{v:?}");
    assert_eq!(v["checked"].as_int().unwrap(), 1, "{v:?}");
    let auth = first_of_kind(&mut host, "custom_auth");
    let c = map(eval(&mut host, &format!("update_timeout(\"{auth}\", 30)")));
    assert_eq!(text(&c, "status"), "skipped", "{c:?}");
}

// -- Needs no session ------------------------------------------------------------------------

fn offline() -> Host {
    let host = Host::offline(Printer::default());
    host.capture_prints(true);
    host
}

#[test]
fn backoff_retries_retryable_errors_only() {
    let mut host = offline();
    let value = eval(
        &mut host,
        "let calls = 0;
         let v = backoff(|| { calls += 1; if calls < 3 { throw #{status: 503, retryable: true, message: \"busy\"}; } 42 },
                         #{retries: 5, base_ms: 1, max_ms: 5});
         [v, calls]",
    )
    .try_cast::<Array>()
    .unwrap();
    assert_eq!(value[0].as_int().unwrap(), 42);
    assert_eq!(value[1].as_int().unwrap(), 3);
    let once = eval(
        &mut host,
        "let calls = 0;
         try { backoff(|| { calls += 1; throw #{status: 404, retryable: false, message: \"gone\"}; }); } catch (e) { }
         calls",
    );
    assert_eq!(once.as_int().unwrap(), 1);
    let exhausted = eval(
        &mut host,
        "let calls = 0;
         let last = ();
         try { backoff(|| { calls += 1; throw #{status: 429, retryable: true, message: `try ${calls}`}; },
                       #{retries: 2, base_ms: 1}); } catch (e) { last = e.message; }
         [last, calls]",
    )
    .try_cast::<Array>()
    .unwrap();
    assert_eq!(exhausted[0].to_string(), "try 3");
    assert_eq!(exhausted[1].as_int().unwrap(), 3);
    let typo = host.eval("backoff(|| 1, #{retry: 2})").unwrap_err();
    assert!(typo.rendered.contains("`retry`"), "{typo}");
}

#[test]
fn args_is_a_constant_map() {
    let mut host = offline();
    host.set_args(BTreeMap::from([("target".to_owned(), "30".to_owned())]));
    assert_eq!(eval(&mut host, "ARGS.target").to_string(), "30");
    // Refused as a constant (`push` instead of `push_constant` lets the assignment through; a
    // failure for another reason, a syntax error say, would not name the constant).
    let e = host.eval("ARGS = #{}").unwrap_err();
    assert!(
        e.rendered.contains("Cannot modify constant ARGS"),
        "{}",
        e.rendered
    );
    assert_eq!(eval(&mut host, "ARGS.target").to_string(), "30");
}

#[test]
fn print_goes_through_the_host() {
    let mut host = offline();
    let _ = eval(&mut host, "print(`a${1 + 1}`)");
    assert_eq!(host.take_printed(), ["a2"]);
}

#[test]
fn run_file_takes_a_shebang_and_imports_relative_to_the_script() {
    let dir = temp_dir("import");
    std::fs::create_dir_all(dir.join("jobs/lib")).unwrap();
    std::fs::write(
        dir.join("jobs/lib/common.rhai"),
        "fn double(x) { x * 2 }\nexport const LIMIT = 60;\n",
    )
    .unwrap();
    let script = dir.join("jobs/main.rhai");
    std::fs::write(&script, "#!/usr/bin/env -S dactl run\nimport \"lib/common\" as common;\ncommon::double(common::LIMIT) + 1\n")
        .unwrap();
    let mut host = offline();
    assert_eq!(host.run_file(&script).unwrap().as_int().unwrap(), 121);
    host.check_file(&script).unwrap();
}

#[test]
fn errors_show_file_line_column_and_a_caret() {
    let dir = temp_dir("errors");
    let script = dir.join("broken.rhai");
    std::fs::write(
        &script,
        "#!/usr/bin/env -S dactl run\nlet a = 1;\nlet b = a + missing;\n",
    )
    .unwrap();
    let mut host = offline();
    let e: ScriptError = host.run_file(&script).unwrap_err();
    let shown = format!("{}:3:13", script.display());
    assert!(e.rendered.contains(&shown), "{e}");
    let lines: Vec<&str> = e.rendered.lines().collect();
    let source = lines
        .iter()
        .position(|l| l.ends_with("let b = a + missing;"))
        .expect("the source line");
    let caret = lines[source + 1].find('^').unwrap();
    assert_eq!(&lines[source][caret..caret + 7], "missing", "{e}");

    let syntax = dir.join("syntax.rhai");
    std::fs::write(&syntax, "let x = ;\n").unwrap();
    let e = host.check_file(&syntax).unwrap_err();
    assert!(e.rendered.contains("syntax.rhai:1:"), "{e}");
    let importer = dir.join("importer.rhai");
    std::fs::write(&importer, "import \"nowhere/lib\" as lib;\n").unwrap();
    let e = host.check_file(&importer).unwrap_err();
    assert!(e.rendered.contains("nowhere/lib"), "{e}");
}

#[test]
fn engine_limits_stop_runaway_scripts_with_clear_messages() {
    let mut host = offline();
    let e = host
        .eval("let s = \"xxxxxxxxxx\"; loop { s += s; }")
        .unwrap_err();
    assert!(e.rendered.contains("limit"), "{e}");
    let e = host.eval("fn down(n) { down(n + 1) } down(0)").unwrap_err();
    assert!(e.rendered.contains("nested too deeply"), "{e}");
    let e = host
        .eval("let a = []; loop { a.push(1); a += a; }")
        .unwrap_err();
    assert!(e.rendered.contains("limit"), "{e}");
}

/// An endless loop ends when the interrupt flag is set. The flag is set again and again until
/// `eval` returns, not once after a sleep: `eval` clears it when it starts, so a single early
/// store could be lost and the loop never end.
#[test]
fn interrupt_stops_a_running_script_and_the_host_survives() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut host = offline();
    let flag = host.interrupt_flag();
    let over = AtomicBool::new(false);
    let e = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !over.load(Ordering::Relaxed) {
                flag.store(true, Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        let e = host.eval("let n = 0; loop { n += 1; }").unwrap_err();
        over.store(true, Ordering::Relaxed);
        e
    });
    assert!(e.interrupted, "{e}");
    assert_eq!(eval(&mut host, "1 + 1").as_int().unwrap(), 2);
}

#[test]
fn host_functions_without_a_session_say_so() {
    let mut host = offline();
    let e = caught(&mut host, "fetch_action(\"x\")");
    assert_eq!(text(&e, "code"), "no.session");
}

// -- Every example and script, through the host, against the sandbox ----------------------

fn run_shipped(file: &str, args: &[(&str, &str)]) -> (Host, Dynamic) {
    let mut host = host();
    host.set_args(
        args.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let value = host
        .run_file(&path)
        .unwrap_or_else(|e| panic!("{file} failed:\n{e}"));
    (host, value)
}

#[test]
fn every_example_and_script_runs_with_its_effect() {
    let (mut host, value) = run_shipped("examples/01-raise-one.rhai", &[]);
    let change = map(value);
    assert!(
        ["updated", "unchanged"].contains(&text(&change, "status").as_str()),
        "{change:?}"
    );
    let id = text(&change, "id");
    assert_eq!(
        map(eval(&mut host, &format!("fetch_action(\"{id}\")")))["timeout_seconds"]
            .as_int()
            .unwrap(),
        30
    );

    let (mut host, value) = run_shipped("examples/02-list-and-filter.rhai", &[]);
    let unset = eval(
        &mut host,
        "list_actions().filter(|a| a.timeout_seconds == ()).len()",
    );
    assert_eq!(value.as_int().unwrap(), unset.as_int().unwrap());
    assert!(host.take_printed()[0].ends_with(" actions"));

    let mut fresh = self::host();
    let unset_before = eval(
        &mut fresh,
        "let c = list_actions()[0].category;
         list_actions(#{category: c}).filter(|a| a.timeout_seconds == ()).map(|a| a.id)",
    )
    .try_cast::<Array>()
    .unwrap();
    let (mut host, value) = run_shipped("examples/03-conditional-raise.rhai", &[]);
    assert!(value.is_array());
    let low = eval(
        &mut host,
        "let c = list_actions()[0].category;
         list_actions(#{category: c}).filter(|a| a.kind == \"standard\" && a.timeout_seconds != () && a.timeout_seconds < 20).len()",
    );
    assert_eq!(
        low.as_int().unwrap(),
        0,
        "every standard action of the category with a timeout is at 20 s or more"
    );
    // Those with none are still unset (the seed org is the same in every sandbox).
    let unset_after = eval(
        &mut host,
        "let c = list_actions()[0].category;
         list_actions(#{category: c}).filter(|a| a.timeout_seconds == ()).map(|a| a.id)",
    )
    .try_cast::<Array>()
    .unwrap();
    assert!(!unset_before.is_empty());
    assert_eq!(
        format!("{unset_after:?}"),
        format!("{unset_before:?}"),
        "unset ones are left alone"
    );

    let (host, value) = run_shipped("examples/04-catching-errors.rhai", &[]);
    assert_eq!(value.to_string(), "skipped");
    let printed = host.take_printed();
    assert!(printed[0].contains("status 404"), "{printed:?}");
    assert!(printed[1].contains("5000ms"), "{printed:?}");

    // The example returns what its closure read through `backoff`: the first action's version.
    // A `backoff` that returned its attempt count, `()` or a stale copy would not match.
    let (mut host, value) = run_shipped("examples/05-backoff.rhai", &[]);
    let first = map(eval(&mut host, "fetch_action(list_actions()[0].id)"));
    assert_eq!(value.as_int().unwrap(), first["version"].as_int().unwrap());
    assert_eq!(
        host.take_printed(),
        [format!(
            "read {} (version {})",
            text(&first, "name"),
            text(&first, "version")
        )]
    );

    let (mut host, value) = run_shipped(
        "examples/06-args.rhai",
        &[("name", "Order"), ("target", "45s")],
    );
    let changes = value.try_cast::<Array>().unwrap();
    assert!(!changes.is_empty());
    for c in changes
        .into_iter()
        .map(map)
        .filter(|c| text(c, "status") == "updated")
    {
        assert_eq!(
            map(eval(
                &mut host,
                &format!("fetch_action(\"{}\")", text(&c, "id"))
            ))["timeout_seconds"]
                .as_int()
                .unwrap(),
            45
        );
    }

    // Without `--arg name` the example lists every action (no filter, not an empty one).
    let (mut host, value) = run_shipped("examples/06-args.rhai", &[("target", "45s")]);
    let listed = eval(&mut host, "list_actions().len()").as_int().unwrap();
    assert_eq!(value.try_cast::<Array>().unwrap().len() as i64, listed);
    assert!(host.take_printed()[0].contains("in all"));

    let (mut host, value) = run_shipped(
        "scripts/raise-timeouts.rhai",
        &[("target", "25"), ("below", "25")],
    );
    assert!(value.is_array());
    let below = eval(
        &mut host,
        "list_actions().filter(|a| a.kind == \"standard\" && a.timeout_seconds != () && a.timeout_seconds < 25).len()",
    );
    assert_eq!(below.as_int().unwrap(), 0);
    // Unset ones are left alone, and counted.
    let unset = eval(
        &mut host,
        "list_actions().filter(|a| a.kind == \"standard\" && a.timeout_seconds == ()).len()",
    )
    .as_int()
    .unwrap();
    assert!(unset > 0);
    let printed = host.take_printed();
    assert!(
        printed
            .iter()
            .any(|l| l.starts_with(&format!("{unset} actions have no timeout set"))),
        "{printed:?}"
    );

    let (mut host, value) = run_shipped("scripts/report-timeouts.rhai", &[]);
    let total = eval(&mut host, "list_actions(#{include_auth: true}).len()")
        .as_int()
        .unwrap();
    assert_eq!(value.as_int().unwrap(), total);
    let lines = host.take_printed();
    assert_eq!(lines.len() as i64, total);
    // One line per action, each naming its kind. (The field separator is not asserted: the script
    // writes `\t` inside a backtick string, which Rhai keeps as the two characters.)
    let kinds = ["standard", "static", "custom_auth", "function"];
    assert!(
        lines.iter().all(|l| kinds.iter().any(|k| l.contains(k))),
        "{lines:?}"
    );
}

#[test]
fn readme_and_the_scripting_guide_document_every_registered_function() {
    let host = offline();
    let docs = host.function_docs();
    assert!(docs.len() >= 8, "{docs:?}");
    // README keeps the compact table, docs/scripting.md the full one.
    for file in ["README.md", "docs/scripting.md"] {
        let text =
            std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        for doc in &docs {
            assert!(
                text.contains(&format!("{}(", doc.name)),
                "{file} does not document `{}`: add it to its table of Rhai functions",
                doc.name
            );
        }
        assert!(text.contains("ARGS"), "{file} does not document `ARGS`");
    }
}

#[test]
fn an_error_inside_an_imported_function_points_into_that_file() {
    let dir = temp_dir("import-error");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(
        dir.join("lib/checks.rhai"),
        "fn must_be_small(x) {\n    if x > 10 { throw `too big: ${x}`; }\n    x\n}\n",
    )
    .unwrap();
    let script = dir.join("main.rhai");
    std::fs::write(
        &script,
        "import \"lib/checks\" as checks;\nchecks::must_be_small(3);\nchecks::must_be_small(30);\n",
    )
    .unwrap();
    let mut host = offline();
    let e = host.run_file(&script).unwrap_err();
    assert!(e.rendered.contains("too big: 30"), "{e}");
    assert!(e.rendered.contains("checks.rhai:2:"), "{e}");
    assert!(e.rendered.contains("if x > 10 { throw"), "{e}");
    assert!(e.rendered.contains("must_be_small"), "{e}");
}

#[test]
fn entry_points_return_exit_codes() {
    let dir = temp_dir("entry");
    let good = dir.join("good.rhai");
    let bad = dir.join("bad.rhai");
    std::fs::write(
        &good,
        "#!/usr/bin/env -S dactl run\nlet t = parse_int(ARGS.target); t\n",
    )
    .unwrap();
    std::fs::write(&bad, "let = 1;\n").unwrap();
    let printer = Printer::default();
    assert_eq!(
        dactl::script::check(std::slice::from_ref(&good), Default::default(), &printer),
        0
    );
    assert_eq!(
        dactl::script::check(&[good.clone(), bad.clone()], Default::default(), &printer),
        1
    );

    let mut host = offline();
    let args = BTreeMap::from([("target".to_owned(), "30".to_owned())]);
    assert_eq!(dactl::script::run(&mut host, &good, args), 0);
    assert_eq!(
        dactl::script::run(&mut host, &good, BTreeMap::new()),
        1,
        "ARGS.target is missing"
    );
    assert_eq!(dactl::script::eval(&mut host, "1 + 1"), 0);
    assert_eq!(dactl::script::eval(&mut host, "nope()"), 1);
}

// -- The real binary: `dactl run`, `eval`, `check` (needs the CLI wiring from main) ----------

#[test]
fn dactl_run_eval_and_check_against_an_org() {
    let org = Org::seed();
    let out = org.dactl(&[
        "eval",
        "list_actions().filter(|a| a.kind == \"standard\" && a.timeout_seconds != 30)[0].id",
    ]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let id = crate::support::stdout(&out).trim().to_owned();
    assert!(!id.starts_with('"'), "a string prints bare: {id}");
    assert_ne!(org.action(&id)["config"]["timeoutSeconds"], 30);
    let example = format!("{}/examples/01-raise-one.rhai", env!("CARGO_MANIFEST_DIR"));
    let out = org.dactl(&["run", &example, "--arg", &format!("id={id}")]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    assert_eq!(org.action(&id)["config"]["timeoutSeconds"], 30);

    let out = org.dactl(&["eval", &format!("fetch_action(\"{id}\").timeout_seconds")]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    assert_eq!(crate::support::stdout(&out).trim(), "30");

    let out = org.dactl(&["eval", "fetch_action(\"no-such-action\")"]);
    assert_eq!(out.status.code(), Some(1));
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("404") && err.contains("no-such-action") && err.contains("<eval>:1:1"),
        "{err}"
    );

    let check = temp_dir("check");
    let bad = check.join("bad.rhai");
    std::fs::write(&bad, "let x = ;\n").unwrap();
    let out = org.dactl(&["check", &example, bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::support::stderr(&out).contains("bad.rhai:1:"),
        "{}",
        crate::support::stderr(&out)
    );
}

/// Ctrl-C (the host's interrupt flag) once the sandbox has taken the first write, not after a
/// sleep: the bulk change ends as interrupted, with writes left unwritten, and the next entry runs
/// normally. Fails with an interrupt that is ignored (every action written), not reported, or
/// left set.
#[test]
fn ctrl_c_during_a_bulk_change_stops_new_writes() {
    let org = Org::start(SandboxOptions {
        actions: Some(200),
        latency_ms: 100,
        rate_limit: 60_000,
        ..SandboxOptions::default()
    });
    let mut host = org_host(&org, false);
    let _ = eval(
        &mut host,
        "let all = list_actions().filter(|a| a.kind == \"standard\");",
    );
    let total = eval(&mut host, "all.len()").as_int().unwrap() as u64;
    assert!(total > 100, "{total}");
    let flag = host.interrupt_flag();
    let (e, written_at_interrupt) = std::thread::scope(|scope| {
        let stopper = scope.spawn(|| {
            let start = std::time::Instant::now();
            while org.writes() == 0 {
                assert!(
                    start.elapsed() < std::time::Duration::from_secs(60),
                    "no write reached the sandbox"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
            org.writes()
        });
        let e = host
            .eval("update_timeouts(all, |a| if a.timeout_seconds == 59 { 58 } else { 59 })")
            .unwrap_err();
        (e, stopper.join().unwrap())
    });
    assert!(e.interrupted, "{e}");
    // Interrupted at its first writes, with about 100 left (8 at a time, each held 100 ms by
    // the sandbox): a run that ignored Ctrl-C would write them all.
    let writes = org.writes();
    assert!(
        writes > 0 && writes < total,
        "{writes} of {total} written ({written_at_interrupt} at the interrupt)"
    );
    // The next entry runs normally: the flags were reset.
    let c = map(eval(&mut host, "update_timeout(all[0].id, 44)"));
    assert_eq!(text(&c, "status"), "updated", "{c:?}");
}
