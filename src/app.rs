//! What each command does, in a few lines each: the CLI's values in, an exit code out.
//!
//! Exit codes (README "Exit codes"): 0 all done and verified; 1 something failed; 2 usage or
//! configuration error; 130 interrupted.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{Inputs, Settings};
use crate::output::Printer;
use crate::sandbox::SandboxOptions;
use crate::script::{self, Host};
use crate::session::{Connection, Session, SessionOptions};

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

pub fn run(cli: Cli) -> ExitCode {
    let global = cli.global;
    let printer = Printer::new(global.verbosity(), global.json);
    let code = match cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "dactl", &mut std::io::stdout());
            SUCCESS
        }
        Some(Command::Sandbox(args)) => match crate::sandbox::run_blocking(args.options()) {
            Ok(()) => SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                FAILURE
            }
        },
        Some(Command::Check { files }) => script::check(&files, &printer),
        Some(Command::Run { file, args }) => with_host(&global, printer, |host| {
            script::run(host, &file, args.into_iter().collect())
        }),
        Some(Command::Eval { expr }) => {
            with_host(&global, printer, |host| script::eval(host, &expr))
        }
        Some(Command::Repl) => repl(&global, printer),
        // Bare `dactl`: the REPL for a person at a terminal, usage for anything else.
        None if std::io::stdin().is_terminal() => repl(&global, printer),
        None => {
            let _ = Cli::command().print_help();
            USAGE
        }
    };
    ExitCode::from(code)
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

/// A script host on a session for the settings given; a configuration error is reported here
/// and becomes exit code 2.
fn connect(global: &GlobalArgs, printer: Printer) -> Result<Host, u8> {
    let inputs = Inputs {
        environment: global.environment.clone(),
        profile: global.profile.clone(),
        rate_per_minute: global.rate,
        concurrency: global.concurrency as usize,
    };
    let connection = if global.sandbox {
        Connection::Sandbox(SandboxOptions::default())
    } else {
        match Settings::resolve(&inputs) {
            Ok(settings) => Connection::Remote(settings),
            Err(error) => {
                eprintln!("error: {error}");
                return Err(USAGE);
            }
        }
    };
    let options = SessionOptions {
        dry_run: global.dry_run,
        journal: global.journal.clone(),
        rate_per_minute: global.rate,
        concurrency: global.concurrency as usize,
        printer: printer.clone(),
    };
    let session = Session::connect(connection, options).map_err(|error| {
        eprintln!("error: {error}");
        FAILURE
    })?;
    let mut host = Host::new(session, printer);
    host.set_inputs(inputs);
    Ok(host)
}
