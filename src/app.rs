//! What each command does, in a few lines each: the CLI's values in, an exit code out.
//!
//! Exit codes (README "Exit codes"): 0 all done and verified; 1 something failed; 2 usage or
//! configuration error; 130 interrupted.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crate::change::plan::Plan;
use crate::change::undo::read_journal;
use crate::change::{ActionInfo, Change, Filter, Timeout, split_unset, unset_reason};
use crate::cli::{ActionsCommand, Cli, Command, GlobalArgs};
use crate::config::{Inputs, Settings};
use crate::genesys::ActionQuery;
use crate::output::{self, Printer, Stream};
use crate::report::{ChangeReport, Context, Format, Report, shell_word};
use crate::run_files::{Role, RunFiles};
use crate::sandbox::SandboxOptions;
use crate::script::imports::ModulePaths;
use crate::script::{self, Host};
use crate::session::{Connection, Session, SessionOptions};

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

pub fn run(cli: Cli) -> ExitCode {
    let global = cli.global;
    // Before anything is sent: a report that could never be written is a usage error.
    if let Some(path) = &global.report
        && let Err(error) = check_report(cli.command.as_ref(), path)
    {
        output::error(&error);
        return ExitCode::from(USAGE);
    }
    // Before anything is sent: no file the command writes may be one it reads or writes too.
    if let Err(error) = run_files(&global, cli.command.as_ref()).check() {
        output::error(&error);
        return ExitCode::from(USAGE);
    }
    let printer = Printer::new(global.verbosity(), global.json);
    let code = match cli.command {
        Some(Command::Completions { shell }) => print_bytes(&crate::cli::completions(shell)),
        Some(Command::Man { command }) => match crate::cli::man_page(&command) {
            Ok(page) => print_bytes(&page),
            Err(error) => {
                output::error(&error);
                USAGE
            }
        },
        Some(Command::Definitions { dir }) => definitions(&dir, &printer),
        Some(Command::Sandbox(args)) => {
            match crate::sandbox::run_blocking((*args).options(&global.sandbox_variant)) {
                Ok(()) => SUCCESS,
                Err(error) => {
                    output::error(format!("{error:#}"));
                    FAILURE
                }
            }
        }
        Some(Command::Check { files }) => match module_paths(&global) {
            Ok(modules) => script::check(&files, modules, &printer),
            Err(code) => code,
        },
        Some(Command::Run { file, args }) => with_host(&global, printer, |host| {
            let code = script::run(host, &file, args.into_iter().collect());
            end_of_script(&global, host, code)
        }),
        Some(Command::Undo { file, force }) => {
            // Refuse a bad journal before connecting: nothing may be sent for it.
            match read_journal(&file) {
                Ok(items) => with_session(&global, printer, |session| {
                    bulk(&global, session, None, |s| Ok(s.undo(&items, force)?))
                }),
                Err(error) => {
                    output::error(&error);
                    USAGE
                }
            }
        }
        Some(Command::Apply { plan: path }) => match Plan::read(&path) {
            Ok(plan) => with_session(&global, printer, |session| {
                bulk(&global, session, Some(&path), |s| Ok(s.apply_plan(&plan)?))
            }),
            Err(error) => {
                output::error(&error);
                USAGE
            }
        },
        Some(Command::Actions(command)) => actions(&global, printer, command),
        Some(Command::Doctor) => with_session(&global, printer, doctor),
        Some(Command::Eval { expr }) => with_host(&global, printer, |host| {
            let code = script::eval(host, &expr);
            // An expression that changed nothing, with no file asked for, is a question: its
            // value is all it prints (`--json`: the value alone). Anything else is a run.
            if host.all_changes().is_empty() && global.report.is_none() && global.plan_out.is_none()
            {
                code
            } else {
                end_of_script(&global, host, code)
            }
        }),
        Some(Command::Repl) => repl(&global, printer),
        // Bare `dactl`: the REPL for a person at a terminal, usage for anything else.
        None if std::io::stdin().is_terminal() => repl(&global, printer),
        None => {
            let _ = crate::cli::command().print_help();
            USAGE
        }
    };
    ExitCode::from(code)
}

/// Writes `bytes` to stdout as they are. A closed pipe (`dactl man | head -1`) is success, as the
/// reader has all it wanted; any other failure to write (a full disk) is an error.
fn print_bytes(bytes: &[u8]) -> u8 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => SUCCESS,
        Err(error) => {
            output::error(format!("writing to stdout failed: {error}"));
            FAILURE
        }
    }
}

/// `dactl definitions DIR`: the definition files of the engine `dactl run` uses (an offline host
/// builds the same one), written into `dir`.
fn definitions(dir: &std::path::Path, printer: &Printer) -> u8 {
    let host = Host::offline(printer.clone());
    match host.write_definitions(dir) {
        Ok(files) => {
            let names: std::collections::BTreeSet<String> =
                host.function_docs().into_iter().map(|d| d.name).collect();
            let functions = names.len();
            printer.info(&format!(
                "wrote {} definition files ({functions} dactl functions, with Rhai's own) to \
                 `{}`: point your editor's Rhai language server at this folder.",
                files.len(),
                dir.display()
            ));
            SUCCESS
        }
        Err(error) => {
            output::error(&error);
            FAILURE
        }
    }
}

/// The files `command` reads and writes, as the flags name them.
fn run_files(global: &GlobalArgs, command: Option<&Command>) -> RunFiles {
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
fn check_report(command: Option<&Command>, path: &std::path::Path) -> Result<(), String> {
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
fn follow_up(global: &GlobalArgs, args: &[&str]) -> String {
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
fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().skip(1).map(|a| shell_word(&a)).collect();
    words.insert(0, "dactl".into());
    words.join(" ")
}

/// Writes `--report FILE`, when asked, for the run's `changes`. `plan`: the plan file that carries
/// out this run's plan (`--plan-out`, or the plan an `apply --dry-run` read). `read_back`: whether
/// the changes read back as intended, when dactl checked. `Err` (after saying why) when the file
/// could not be written: the run's outcome is already printed and its journal complete.
fn write_report(
    global: &GlobalArgs,
    session: &Session,
    changes: &[Change],
    plan: Option<&std::path::Path>,
    read_back: Option<bool>,
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
    let report = ChangeReport::new(context, changes.to_vec());
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
fn end_of_script(global: &GlobalArgs, host: &Host, code: u8) -> u8 {
    let changes = host.all_changes();
    let after = host.with_session(|session| after_script(global, session));
    let code = code.max(after.unwrap_or(SUCCESS));
    match host.with_session(|session| write_report(global, session, &changes, None, None)) {
        Some(Err(())) if code == SUCCESS => FAILURE,
        _ => code,
    }
}

/// After a script's run: the plan to `--plan-out`, the report as JSON with `--json`.
fn after_script(global: &GlobalArgs, session: &Session) -> u8 {
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
fn with_canary(mut json: serde_json::Value, session: &Session) -> serde_json::Value {
    json["canary"] = session
        .canary()
        .map_or(serde_json::Value::Null, |c| c.to_json());
    json
}

fn save_plan(session: &Session, path: &std::path::Path) -> u8 {
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
type BulkError = Box<dyn std::error::Error>;

/// A bulk command on the session: Ctrl-C stops new writes, the changes are read back, the report
/// printed (JSON on stdout with `--json`), the plan saved with `--plan-out`, the report file
/// written with `--report` (`plan`: the plan file an `apply` read). Exit code: 130 when
/// interrupted, 1 when anything failed or did not verify (or the report could not be written),
/// else 0.
fn bulk(
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
    let report_written = write_report(global, session, &changes, plan, read_back);
    if cancel.load(std::sync::atomic::Ordering::SeqCst) {
        printer.info("interrupted: no new write was started after Ctrl-C.");
        INTERRUPTED
    } else if report.failed() > 0 || !verified || report_written.is_err() {
        FAILURE
    } else {
        code
    }
}

/// `dactl actions ...`.
fn actions(global: &GlobalArgs, printer: Printer, command: ActionsCommand) -> u8 {
    match command {
        ActionsCommand::List {
            category,
            name,
            kind,
        } => with_session(global, printer, |session| {
            let query = ActionQuery {
                category,
                name,
                include_auth_actions: true,
                include_config: true,
                ..ActionQuery::default()
            };
            match session.list_actions(&query) {
                Ok(infos) => {
                    let infos: Vec<ActionInfo> = infos
                        .into_iter()
                        .filter(|i| kind.as_deref().is_none_or(|k| i.kind.as_str() == k))
                        .collect();
                    print_actions(session.printer(), &infos);
                    SUCCESS
                }
                Err(error) => {
                    output::error(&error);
                    FAILURE
                }
            }
        }),
        ActionsCommand::Get { id } => {
            with_session(global, printer, |session| match session.fetch_action(&id) {
                Ok(info) => {
                    let value = script::convert::action_map(&info);
                    let printer = session.printer();
                    if printer.json {
                        printer.json(&script::render::json(&value));
                    } else {
                        let layout = printer.layout(Stream::Stdout);
                        printer.data(&script::render::value(&value, layout).unwrap_or_default());
                    }
                    SUCCESS
                }
                Err(error) if error.status() == Some(404) => {
                    output::error(format!("There is no action with id `{id}`."));
                    FAILURE
                }
                Err(error) => {
                    output::error(&error);
                    FAILURE
                }
            })
        }
        ActionsCommand::SetTimeout {
            mut values,
            category,
            name,
            include_unset,
        } => {
            let text = values.pop().unwrap_or_default();
            let timeout = match Timeout::parse(&text) {
                Ok(timeout) => timeout,
                Err(error) => {
                    output::error(format!("TIMEOUT: {error}"));
                    return USAGE;
                }
            };
            let by_filter = category.is_some() || name.is_some();
            if by_filter != values.is_empty() {
                output::error(
                    "name the actions either by id or with `--category`/`--name`, not both and not neither; e.g. `dactl actions set-timeout ID 30` or `dactl actions set-timeout --category Billing 30`.",
                );
                return USAGE;
            }
            if include_unset && !by_filter {
                output::error(
                    "`--include-unset` goes with `--category` or `--name`; actions named by id are changed whether their timeout is set or not, so leave it out.",
                );
                return USAGE;
            }
            with_session(global, printer, |session| {
                bulk(global, session, None, |s| match (&category, &name) {
                    (None, None) => set_by_ids(s, &values, timeout),
                    _ => {
                        let filter = Filter {
                            category: category.clone(),
                            name: name.clone(),
                        };
                        set_by_filter(s, &filter, timeout, include_unset)
                    }
                })
            })
        }
    }
}

/// `actions set-timeout ID... TIMEOUT`: the actions named, custom authentication actions
/// included (they are reported as skipped, with the reason); an id that names no action fails.
fn set_by_ids(s: &Session, ids: &[String], timeout: Timeout) -> Result<Vec<Change>, BulkError> {
    let resolved = s.resolve(ids, true)?;
    let mut changes = resolved.missing_changes();
    let mut decide = |_: &ActionInfo| Ok(Some(timeout));
    changes.extend(s.update_timeouts(resolved.found, &mut decide));
    Ok(changes)
}

/// `actions set-timeout --category C / --name N TIMEOUT`. A filter that matches no action is an
/// error that names it. Standard actions with no timeout set are left alone and reported as
/// skipped, unless `include_unset`.
fn set_by_filter(
    s: &Session,
    filter: &Filter,
    timeout: Timeout,
    include_unset: bool,
) -> Result<Vec<Change>, BulkError> {
    let targets = s.list_actions(&filter.query())?;
    if targets.is_empty() {
        return Err(filter.matched_nothing().into());
    }
    let (targets, unset) = split_unset(targets, include_unset);
    let mut decide = |_: &ActionInfo| Ok(Some(timeout));
    let mut changes = s.update_timeouts(targets, &mut decide);
    changes.extend(s.leave_alone(&unset, &unset_reason(timeout)));
    Ok(changes)
}

fn print_actions(printer: &Printer, infos: &[ActionInfo]) {
    if printer.json {
        printer.json(&script::render::json(&script::convert::action_maps(infos)));
        return;
    }
    let rows: Vec<Vec<String>> = infos
        .iter()
        .map(|i| {
            // A function data action's own timeout is read per action, so a listing does not
            // have it (`-`: not read; `actions get` reads it). Any other absent timeout is unset.
            // The same rule as `script::render` uses for REPL tables.
            let timeout = match (i.kind, i.function_timeout) {
                (crate::change::Kind::Function, Some(t)) => t.to_string(),
                (crate::change::Kind::Function, None) => "-".to_owned(),
                _ => i
                    .action
                    .config
                    .as_ref()
                    .and_then(|c| c.timeout_seconds)
                    .map_or_else(|| script::render::UNSET.to_owned(), |t| t.to_string()),
            };
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
            vec![
                i.action.id.clone(),
                text(&i.action.name),
                text(&i.action.category),
                i.kind.as_str().to_owned(),
                timeout,
            ]
        })
        .collect();
    let table = crate::output::table::render(
        &["id", "name", "category", "kind", "timeout"],
        &rows,
        printer.layout(Stream::Stdout),
    );
    printer.data(&table.text);
}

/// `dactl doctor`: the findings as a table on stdout, or JSON with `--json` (each problem then
/// also on stderr); exit 1 when a check failed.
fn doctor(session: &Session) -> u8 {
    let findings = crate::doctor::Findings::gather(session);
    let printer = session.printer();
    if printer.json {
        printer.json(&findings.to_json());
        for problem in &findings.problems {
            output::error(problem);
        }
    } else {
        printer.data(&findings.to_string());
    }
    if findings.ok() { SUCCESS } else { FAILURE }
}

fn repl(global: &GlobalArgs, printer: Printer) -> u8 {
    match connect(global, printer) {
        Ok(host) => crate::repl::run(host),
        Err(code) => code,
    }
}

fn with_host(global: &GlobalArgs, printer: Printer, work: impl FnOnce(&mut Host) -> u8) -> u8 {
    match connect(global, printer) {
        Ok(mut host) => work(&mut host),
        Err(code) => code,
    }
}

fn with_session(global: &GlobalArgs, printer: Printer, work: impl FnOnce(&Session) -> u8) -> u8 {
    match session(global, printer) {
        Ok(session) => work(&session),
        Err(code) => code,
    }
}

/// A script host on a session for the settings given; a configuration error is reported here
/// and becomes exit code 2.
fn connect(global: &GlobalArgs, printer: Printer) -> Result<Host, u8> {
    // Before connecting: a bad flag must cost no request.
    let modules = module_paths(global)?;
    let session = session(global, printer.clone())?;
    let mut host = Host::new(session, printer);
    host.set_inputs(inputs(global));
    host.set_module_paths(modules);
    Ok(host)
}

/// The `--module-path` folders, each checked to exist; a bad one is a usage error (exit 2).
fn module_paths(global: &GlobalArgs) -> Result<ModulePaths, u8> {
    ModulePaths::new(&global.module_path).map_err(|error| {
        output::error(&error);
        USAGE
    })
}

fn inputs(global: &GlobalArgs) -> Inputs {
    Inputs {
        environment: global.environment.clone(),
        profile: global.profile.clone(),
        rate_per_minute: global.rate,
        tokens: global.tokens.map(|n| n as usize),
        concurrency: global.concurrency.map(|n| n as usize),
    }
}

/// A session for the settings given; a configuration error is reported here and becomes exit
/// code 2.
fn session(global: &GlobalArgs, printer: Printer) -> Result<Session, u8> {
    let inputs = inputs(global);
    let connection = if global.sandbox {
        Connection::Sandbox(SandboxOptions {
            variants: crate::cli::sandbox_variants(&global.sandbox_variant),
            ..SandboxOptions::default()
        })
    } else {
        match Settings::resolve(&inputs) {
            Ok(settings) => Connection::Remote(settings),
            Err(error) => {
                output::error(&error);
                return Err(USAGE);
            }
        }
    };
    let options = SessionOptions {
        // A plan is made by a dry run.
        dry_run: global.dry_run || global.plan_out.is_some(),
        canary: !global.no_canary,
        journal: global.journal.clone(),
        rate_per_minute: global.rate,
        // 0: the settings' value (or, for the sandbox, the default pool and its concurrency).
        tokens: global.tokens.map_or(0, |n| n as usize),
        concurrency: global.concurrency.map_or(0, |n| n as usize),
        printer: printer.clone(),
        request_timeout: global.request_timeout.map(Duration::from_secs),
    };
    Session::connect(connection, options).map_err(|error| {
        output::error(&error);
        FAILURE
    })
}
