//! The change engine against the sandbox: the safe read-modify-write keeps every other field and
//! the templates, refuses what cannot take a timeout, handles function data actions, conflicts
//! and the journal.

use dactl::change::{ActionInfo, Kind, Status, Timeout};
use dactl::sandbox::SandboxOptions;
use serde_json::Value;

use crate::session::{Run, other_timeout, timeout_of};

/// Only `config.timeoutSeconds` and `version` differ between the two stored actions.
fn assert_only_timeout_and_version_differ(before: &Value, after: &Value, timeout: u32) {
    assert_eq!(after["config"]["timeoutSeconds"], timeout);
    assert_eq!(
        after["version"].as_i64(),
        before["version"].as_i64().map(|v| v + 1)
    );
    let (mut a, mut b) = (before.clone(), after.clone());
    for v in [&mut a, &mut b] {
        v["config"]
            .as_object_mut()
            .unwrap()
            .remove("timeoutSeconds");
        v.as_object_mut().unwrap().remove("version");
    }
    assert_eq!(a, b);
}

#[test]
fn one_update_keeps_every_other_field() {
    let run = Run::seed();
    let info = run
        .of_kind(Kind::Standard)
        .into_iter()
        .find(|a| timeout_of(a).is_some())
        .unwrap();
    let id = info.action.id.clone();
    let before = run.stored_action(&id);
    let target = other_timeout(&info);
    let change = run.session.update_timeout(info.clone(), target);
    assert_eq!(change.status, Status::Updated, "{change:?}");
    assert_eq!(change.before, timeout_of(&info));
    assert_eq!(change.after, Some(i64::from(target.0)));
    assert_only_timeout_and_version_differ(&before, &run.stored_action(&id), target.0);
    assert_eq!(run.count(|m, _| m == "PATCH"), 1);
    assert!(run.session.verify(&[change]).unwrap().ok);
}

#[test]
fn an_unset_timeout_gets_set_and_the_rest_is_kept() {
    let run = Run::seed();
    let Some(info) = run
        .of_kind(Kind::Standard)
        .into_iter()
        .find(|a| timeout_of(a).is_none())
    else {
        panic!("the seed org has an action without a timeout");
    };
    let before = run.stored_action(&info.action.id);
    let change = run.session.update_timeout(info.clone(), Timeout(20));
    assert_eq!(
        (change.status, change.before, change.after),
        (Status::Updated, None, Some(20))
    );
    assert_only_timeout_and_version_differ(&before, &run.stored_action(&info.action.id), 20);
}

#[test]
fn templates_named_only_by_uri_are_kept() {
    let run = Run::seed();
    let info = run
        .of_kind(Kind::Standard)
        .into_iter()
        .find(|a| {
            a.action
                .config
                .as_ref()
                .unwrap()
                .request_template_uri_only()
                .is_some()
        })
        .expect("the seed org has a config naming its template only by URI");
    let id = info.action.id.clone();
    let before = run.stored_action(&id);
    assert!(before["config"]["request"]["requestTemplate"].is_string());
    let change = run
        .session
        .update_timeout(info.clone(), other_timeout(&info));
    assert_eq!(change.status, Status::Updated, "{change:?}");
    let after = run.stored_action(&id);
    assert_eq!(
        after["config"]["request"]["requestTemplate"],
        before["config"]["request"]["requestTemplate"]
    );
    assert_eq!(
        after["config"]["response"]["successTemplate"],
        before["config"]["response"]["successTemplate"]
    );
    assert_only_timeout_and_version_differ(&before, &after, other_timeout(&info).0);
}

#[test]
fn static_and_custom_auth_actions_are_skipped_with_reasons() {
    let run = Run::seed();
    let targets: Vec<ActionInfo> = run
        .all()
        .into_iter()
        .filter(|a| matches!(a.kind, Kind::Static | Kind::CustomAuth))
        .collect();
    assert_eq!(targets.len(), 3);
    let mut calls = 0;
    let mut decide = |_: &ActionInfo| {
        calls += 1;
        Ok(Some(Timeout(30)))
    };
    let changes = run.session.update_timeouts(targets, &mut decide);
    assert_eq!(calls, 0);
    assert_eq!(run.writes(), 0);
    for change in changes {
        assert_eq!(change.status, Status::Skipped);
        let reason = change.reason.unwrap();
        match change.kind {
            Kind::Static => assert!(reason.contains("static"), "{reason}"),
            _ => assert!(reason.contains("custom authentication"), "{reason}"),
        }
    }
}

#[test]
fn function_actions_get_their_function_timeout_through_a_draft() {
    let run = Run::seed();
    let info = run.of_kind(Kind::Function).remove(0);
    let id = info.action.id.clone();
    let before = run.stored_action(&id);
    let current = run.session.fetch_action(&id).unwrap().function_timeout;
    let target = if current == Some(9) {
        Timeout(8)
    } else {
        Timeout(9)
    };

    let too_long = run.session.update_timeout(info.clone(), Timeout(30));
    assert_eq!(too_long.status, Status::Failed);
    assert!(too_long.reason.unwrap().contains("1 to 15"));
    assert_eq!(run.writes(), 0);

    let change = run.session.update_timeout(info.clone(), target);
    assert_eq!(change.status, Status::Updated, "{change:?}");
    assert_eq!(change.before, current);
    assert_eq!(change.after, Some(i64::from(target.0)));
    assert_eq!(
        run.session.fetch_action(&id).unwrap().function_timeout,
        Some(i64::from(target.0))
    );
    assert!(run.session.verify(&[change]).unwrap().ok);
    // The action's own config is untouched; publishing raised its version.
    let after = run.stored_action(&id);
    assert_eq!(after["config"], before["config"]);
    assert_eq!(after["name"], before["name"]);
    assert_eq!(
        run.count(|m, r| m == "POST" && r.ends_with("/draft/publish")),
        1
    );

    let again = run
        .session
        .update_timeout(run.session.fetch_action(&id).unwrap(), target);
    assert_eq!(again.status, Status::Unchanged);
}

#[test]
fn a_conflicting_edit_is_kept_and_the_timeout_still_set() {
    // Without the canary, whose fresh read would see the edit before writing (next test).
    let run = Run::seed_without_canary();
    let info = run.of_kind(Kind::Standard).remove(0);
    let id = info.action.id.clone();
    let target = other_timeout(&info);
    let mut seen: Vec<Option<i64>> = Vec::new();
    // The other editor strikes between the read and the write.
    let mut decide = |a: &ActionInfo| {
        if seen.is_empty() {
            run.edit(&a.action.id);
        }
        seen.push(a.action.version);
        Ok(Some(target))
    };
    let changes = run.session.update_timeouts(vec![info.clone()], &mut decide);
    assert_eq!(changes[0].status, Status::Updated, "{:?}", changes[0]);
    // Decided again on the fresh action.
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1], seen[0].map(|v| v + 1));
    let after = run.stored_action(&id);
    assert!(
        after["name"].as_str().unwrap().ends_with(" (edited)"),
        "{after}"
    );
    assert_eq!(after["config"]["timeoutSeconds"], target.0);
    assert_eq!(run.count(|m, r| m == "PATCH" && r.contains("/actions/")), 2);
    let journal = run.journal_lines();
    let statuses: Vec<&str> = journal
        .iter()
        .filter_map(|l| l["status"].as_str())
        .collect();
    assert_eq!(statuses, ["conflict", "updated"]);
}

#[test]
fn the_canary_decides_again_on_an_action_edited_after_the_listing() {
    let run = Run::seed();
    let info = run.of_kind(Kind::Standard).remove(0);
    let id = info.action.id.clone();
    let target = other_timeout(&info);
    let mut seen: Vec<Option<i64>> = Vec::new();
    let mut decide = |a: &ActionInfo| {
        if seen.is_empty() {
            run.edit(&a.action.id);
        }
        seen.push(a.action.version);
        Ok(Some(target))
    };
    let changes = run.session.update_timeouts(vec![info], &mut decide);
    assert_eq!(changes[0].status, Status::Updated, "{:?}", changes[0]);
    // The canary read the action fresh, saw it had moved on, and asked again before writing:
    // one PATCH, no conflict, the edit kept.
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1], seen[0].map(|v| v + 1));
    assert_eq!(run.count(|m, r| m == "PATCH" && r.contains("/actions/")), 1);
    let after = run.stored_action(&id);
    assert!(
        after["name"].as_str().unwrap().ends_with(" (edited)"),
        "{after}"
    );
    assert_eq!(after["config"]["timeoutSeconds"], target.0);
}

#[test]
fn a_conflict_onto_the_target_is_unchanged() {
    let run = Run::seed_without_canary();
    let info = run.of_kind(Kind::Standard).remove(0);
    let target = other_timeout(&info);
    // Someone else sets the very timeout: the fresh action already has it, nothing more to do.
    let mut first = true;
    let mut decide = |a: &ActionInfo| {
        if first {
            first = false;
            let mut other = run.session.fetch_action(&a.action.id).unwrap();
            other.action.name = Some("renamed by the other editor".into());
            assert_eq!(
                run.session.update_timeout(other, target).status,
                Status::Updated
            );
        }
        Ok(Some(target))
    };
    let changes = run.session.update_timeouts(vec![info], &mut decide);
    assert_eq!(changes[0].status, Status::Unchanged, "{:?}", changes[0]);
}

#[test]
fn the_journal_is_written_before_each_write() {
    let run = Run::seed_without_canary();
    let info = run.of_kind(Kind::Standard).remove(0);
    let stored = run.stored_action(&info.action.id);
    let target = other_timeout(&info);
    let change = run.session.update_timeout(info.clone(), target);
    assert_eq!(change.status, Status::Updated);
    let lines = run.journal_lines();
    assert_eq!(lines.len(), 2);
    let intent = &lines[0];
    assert_eq!(intent["kind"], "intent");
    assert_eq!(intent["action_id"], info.action.id.as_str());
    assert_eq!(intent["version"], info.action.version.unwrap());
    assert_eq!(intent["intended_timeout"], target.0);
    assert_eq!(intent["run_id"], run.session.run_id());
    // The action as it was read, with the text of the templates its config named by URI: what
    // it takes to put it back exactly.
    let mut expected = info.action.to_action();
    let config = expected.config.as_mut().unwrap();
    config.request.as_mut().unwrap().insert(
        "requestTemplate".into(),
        stored["config"]["request"]["requestTemplate"].clone(),
    );
    config.response.as_mut().unwrap().insert(
        "successTemplate".into(),
        stored["config"]["response"]["successTemplate"].clone(),
    );
    assert_eq!(
        serde_json::from_value::<dactl::genesys::models::Action>(intent["action"].clone()).unwrap(),
        expected
    );
    assert_eq!(lines[1]["kind"], "outcome");
    assert_eq!(lines[1]["status"], "updated");
    assert_eq!(lines[1]["new_version"], info.action.version.unwrap() + 1);
    let text = std::fs::read_to_string(run.session.journal_path().unwrap()).unwrap();
    assert!(!text.contains("access_token") && !text.to_lowercase().contains("bearer"));
}

#[test]
fn an_unwritable_journal_stops_the_write() {
    let dir = crate::support::temp_dir("unwritable-journal");
    let blocker = dir.join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let journal = blocker.join("journal.jsonl");
    let run = Run::with_journal(SandboxOptions::default(), false, Some(journal.clone()), dir);
    let info = run.of_kind(Kind::Standard).remove(0);
    let before = run.stored();
    let change = run
        .session
        .update_timeout(info.clone(), other_timeout(&info));
    assert_eq!(change.status, Status::Failed);
    let reason = change.reason.unwrap();
    assert!(
        reason.contains(&format!("`{}`", journal.display())),
        "{reason}"
    );
    assert_eq!(run.writes(), 0);
    assert_eq!(run.stored(), before);
    assert_eq!(run.session.journal_path(), None);
}
