//! The one printer: decides quiet, verbose, JSON and terminal; data goes to stdout, everything
//! else to stderr. Progress bars are drawn only through it and hidden when stderr is not a terminal.

use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose(u8),
}

#[derive(Debug, Clone, Default)]
pub struct Printer {
    pub verbosity: Verbosity,
    /// `--json`: data on stdout is JSON.
    pub json: bool,
}

impl Printer {
    pub fn new(verbosity: Verbosity, json: bool) -> Printer {
        Printer { verbosity, json }
    }

    /// Data: the answer the user asked for. Always printed, on stdout.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`dactl ... | head`) is not an error worth a panic.
        let _ = writeln!(out, "{text}");
    }

    /// Progress and summaries for a person, on stderr; silent with `-q`.
    pub fn info(&self, text: &str) {
        if self.verbosity != Verbosity::Quiet {
            eprintln!("{text}");
        }
    }

    /// Warnings, on stderr, even with `-q`.
    pub fn warn(&self, text: &str) {
        eprintln!("warning: {text}");
    }

    /// Whether a progress bar may be drawn.
    pub fn shows_progress(&self) -> bool {
        self.verbosity != Verbosity::Quiet && std::io::stderr().is_terminal()
    }
}

/// Diagnostics (`tracing`) on stderr: warnings by default, `-v` requests and retries, `-vv` and more
/// everything; `RUST_LOG` overrides. Nothing logged carries a secret: tokens and client secrets
/// live in `Secret`, which prints `(redacted)`.
pub fn init_tracing(verbosity: Verbosity) {
    let default = match verbosity {
        Verbosity::Quiet => "error",
        Verbosity::Normal => "warn",
        Verbosity::Verbose(1) => "warn,dactl=debug",
        Verbosity::Verbose(_) => "debug,dactl=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .try_init();
}
