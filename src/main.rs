use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = dactl::cli::parse();
    dactl::output::init_tracing(cli.global.verbosity());
    dactl::app::run(cli)
}
