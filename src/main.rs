use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dactl::cli::Cli::parse();
    dactl::output::init_tracing(cli.global.verbosity());
    dactl::app::run(cli)
}
