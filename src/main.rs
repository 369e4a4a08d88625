use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    dactl::app::run(dactl::cli::Cli::parse())
}
