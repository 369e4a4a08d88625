//! The end of a run: the files it writes checked before it starts, then the summary, the plan,
//! the report file and the exit code.

use crate::change::Change;
use crate::cli::{ActionsCommand, Command, GlobalArgs};
use crate::output;
use crate::report::{ChangeReport, Context, Format, Report, shell_word};
use crate::run_files::{Role, RunFiles};
use crate::script::{self, Host};
use crate::session::Session;

use super::*;

/// The files `command` reads and writes, as the flags name them.
pub(super) fn run_files(global: &GlobalArgs, command: Option<&Command>) -> RunFiles {
    let input = match command {
        Some(Command::Run { file, .. }) => Some((Role::Script, file.clone())),
        Some(Command::Apply { plan }) => Some((Role::Plan, plan.clone())),
        Some(Command::Undo { file, .. }) => Some((Role::UndoneJournal, file.clone())),
        _ => None,
    };
    RunFiles {
        journal: global.journal.clone(),
        report: global.report.clone(),
        plan_out: global.plan_out.clone(),
        input,
    }
}

/// Whether `--report PATH` can be written by `command`: a format dactl writes (`.md`, `.html`),
/// and a command that changes timeouts.
pub(super) fn check_report(
    command: Option<&Command>,
    path: &std::path::Path,
) -> Result<(), String> {
    Format::of(path)?;
    let other = match command {
        Some(
            Command::Run { .. }
            | Command::Apply { .. }
            | Command::Undo { .. }
            | Command::Eval { .. }
            | Command::Actions(ActionsCommand::SetTimeout { .. }),
        ) => return Ok(()),
        Some(Command::Check { .. }) => "check",
        Some(Command::Repl) | None => "repl",
        Some(Command::Actions(_)) => "actions list/get",
        Some(Command::Sandbox(_)) => "sandbox",
        Some(Command::Completions { .. }) => "completions",
        Some(Command::Man { .. }) => "man",
        Some(Command::Definitions { .. }) => "definitions",
        Some(Command::Doctor) => "doctor",
    };
    Err(format!(
        "`--report` describes a run that changes timeouts, and `{other}` is not one; use it with \
         `run`, `eval`, `apply`, `undo` or `actions set-timeout` (a dry run too)."
    ))
}

/// `dactl` with the flags that name the org this run worked on (as typed), then `args`: the
/// command a report tells to run next (undo, apply), in the same environment.
pub(super) fn follow_up(global: &GlobalArgs, args: &[&str]) -> String {
    let mut words = vec!["dactl".to_owned()];
    if global.sandbox {
        words.push("--sandbox".into());
    }
    if let Some(environment) = &global.environment {
        words.extend(["--environment".into(), shell_word(environment)]);
    }
    if let Some(profile) = &global.profile {
        words.extend(["--profile".into(), shell_word(profile)]);
    }
    words.extend(args.iter().map(|a| shell_word(a)));
    words.join(" ")
}

/// The command line as typed, one shell word per argument.
pub(super) fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().skip(1).map(|a| shell_word(&a)).collect();
    words.insert(0, "dactl".into());
    words.join(" ")
}

/// Writes `--report FILE`, when asked, for the run's `changes`. `plan`: the plan file that carries
/// out this run's plan (`--plan-out`, or the plan an `apply --dry-run` read). `read_back`: whether
/// the changes read back as intended, when dactl checked. `Err` (after saying why) when the file
/// could not be written: the run's outcome is already printed and its journal complete.
pub(super) fn write_report(
    global: &GlobalArgs,
    session: &Session,
    changes: &[Change],
    plan: Option<&std::path::Path>,
    read_back: Option<bool>,
    evidence: std::collections::BTreeMap<String, String>,
) -> Result<(), ()> {
    let Some(path) = &global.report else {
        return Ok(());
    };
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let journal = session.journal_path().map(|p| absolute(&p));
    let dry_run = session.dry_run();
    let plan = global.plan_out.as_deref().or(plan).filter(|_| dry_run);
    let context = Context {
        org: session.org(),
        client_id: session.client_id().map(str::to_owned),
        generated: jiff::Timestamp::now(),
        run_id: session.run_id().to_owned(),
        dry_run,
        command: command_line(),
        undo: journal
            .as_ref()
            .map(|j| follow_up(global, &["undo", &j.display().to_string()])),
        journal,
        apply: plan.map(|p| follow_up(global, &["apply", &absolute(p).display().to_string()])),
        read_back,
    };
    let report = ChangeReport::new(context, changes.to_vec()).with_evidence(evidence);
    match report.write(path) {
        Ok(()) => {
            session
                .printer()
                .info(&format!("report: {}", path.display()));
            Ok(())
        }
        Err(error) => {
            output::error(&error);
            Err(())
        }
    }
}

/// The end of a script's run (`run`, and `eval` when it is one), after the script host printed
/// the report: the plan, the JSON report, the report file. The exit code is the script's
/// (`code`), or 1 when one of these could not be written.
pub(super) fn end_of_script(global: &GlobalArgs, host: &Host, code: u8) -> u8 {
    let changes = host.all_changes();
    let after = host.with_session(|session| after_script(global, session));
    let code = code.max(after.unwrap_or(SUCCESS));
    let evidence = host.evidence();
    match host.with_session(|session| write_report(global, session, &changes, None, None, evidence))
    {
        Some(Err(())) if code == SUCCESS => FAILURE,
        _ => code,
    }
}

/// After a script's run: the plan to `--plan-out`, the report as JSON with `--json`.
pub(super) fn after_script(global: &GlobalArgs, session: &Session) -> u8 {
    let mut code = SUCCESS;
    if let Some(path) = &global.plan_out {
        code = save_plan(session, path);
    }
    if global.json {
        let changes = session.changes();
        let report = Report { changes: &changes };
        let json = with_canary(report.to_json(session.journal_path().as_deref()), session);
        session.printer().json(&json.to_string());
    }
    code
}

/// A JSON report with the run's canary (`null` when there was none).
pub(super) fn with_canary(mut json: serde_json::Value, session: &Session) -> serde_json::Value {
    json["canary"] = session
        .canary()
        .map_or(serde_json::Value::Null, |c| c.to_json());
    json
}

pub(super) fn save_plan(session: &Session, path: &std::path::Path) -> u8 {
    let plan = session.plan();
    match plan.write(path) {
        Ok(()) => {
            session.printer().info(&format!(
                "plan: {} ({} changes; apply with `dactl apply {}`)",
                path.display(),
                plan.changes.len(),
                path.display()
            ));
            SUCCESS
        }
        Err(error) => {
            output::error(&error);
            FAILURE
        }
    }
}

/// Why a bulk command could not start its changes: an API error, or a message of its own.
pub(super) type BulkError = Box<dyn std::error::Error>;

/// A bulk command on the session: Ctrl-C stops new writes, the changes are read back, the report
/// printed (JSON on stdout with `--json`), the plan saved with `--plan-out`, the report file
/// written with `--report` (`plan`: the plan file an `apply` read). Exit code: 130 when
/// interrupted, 1 when anything failed or did not verify (or the report could not be written),
/// else 0.
pub(super) fn bulk(
    global: &GlobalArgs,
    session: &Session,
    plan: Option<&std::path::Path>,
    work: impl FnOnce(&Session) -> Result<Vec<Change>, BulkError>,
) -> u8 {
    let cancel = session.cancel_flag();
    let _ = script::install_ctrl_c(cancel.clone());
    let changes = match work(session) {
        Ok(changes) => changes,
        Err(error) => {
            output::error(&error);
            return FAILURE;
        }
    };
    let printer = session.printer();
    let mut verified = true;
    if !session.dry_run() {
        match session.verify(&changes) {
            Ok(check) if check.ok => {}
            Ok(check) => {
                verified = false;
                for (id, expected, found) in &check.mismatches {
                    output::error(format!(
                        "`{id}` did not read back as changed: expected {expected:?}, found {found:?}."
                    ));
                }
            }
            Err(error) => {
                verified = false;
                output::error(format!("reading the changes back failed: {error}"));
            }
        }
    }
    let report = Report { changes: &changes };
    if !changes.is_empty() {
        printer.info(&report.render(printer));
    }
    if let Some(canary) = session.canary() {
        printer.info(&canary.to_string());
    }
    let journal = session.journal_path();
    if let Some(path) = &journal {
        printer.info(&format!("journal: {}", path.display()));
    }
    if global.json {
        let json = with_canary(report.to_json(journal.as_deref()), session);
        printer.json(&json.to_string());
    }
    let mut code = SUCCESS;
    if let Some(path) = &global.plan_out {
        code = save_plan(session, path);
    }
    let read_back = (!session.dry_run()).then_some(verified);
    let report_written = write_report(
        global,
        session,
        &changes,
        plan,
        read_back,
        Default::default(),
    );
    if cancel.load(std::sync::atomic::Ordering::SeqCst) {
        printer.info("interrupted: no new write was started after Ctrl-C.");
        INTERRUPTED
    } else if report.failed() > 0 || !verified || report_written.is_err() {
        FAILURE
    } else {
        code
    }
}
