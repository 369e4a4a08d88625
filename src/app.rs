//! What each command does, in a few lines each: the CLI's values in, an exit code out.
//!
//! Exit codes (README "Exit codes"): 0 all done and verified; 1 something failed; 2 usage or
//! configuration error; 130 interrupted.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command};

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

pub fn run(cli: Cli) -> ExitCode {
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
        _ => {
            eprintln!("error: not built yet");
            USAGE
        }
    };
    ExitCode::from(code)
}
