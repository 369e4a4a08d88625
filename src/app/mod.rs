//! What each command does, in a few lines each: the CLI's values in, an exit code out.
//!
//! Exit codes (README "Exit codes"): 0 all done and verified; 1 something failed; 2 usage or
//! configuration error; 130 interrupted.

//!
//! - `actions`: `dactl actions ...` (list, get, set-timeout).
//! - `ending`: the end of a run: the files it writes (journal, report, plan) checked before it
//!   starts, the report, the plan, the exit code.

mod actions;
mod ending;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crate::change::plan::Plan;
use crate::change::undo::read_journal;
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{Inputs, Settings};
use crate::output::{self, Printer};
use crate::sandbox::SandboxOptions;
use crate::script::imports::ModulePaths;
use crate::script::{self, Host};
use crate::session::{Connection, Session, SessionOptions};

use ending::*;

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
        Some(Command::Actions(command)) => actions::actions(&global, printer, command),
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
