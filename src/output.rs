//! The one printer: decides quiet, verbose, JSON and terminal; data goes to stdout, everything
//! else to stderr. Progress bars are drawn only through it and hidden when stderr is not a terminal.
//! Tables are drawn by `table::render`, laid out for where they go (`Printer::layout`).
//!
//! Text for a person leaves only through here (`Printer::data`, `info` and `warn`; `error` and
//! `text` for errors) and the table renderer, and each makes control characters visible on the
//! way out (`escape`): a name from the org cannot move the cursor, erase a row or set the
//! terminal's title. A script's `print` comes here too, so it cannot colour its output either.
//! JSON leaves through `Printer::json`, exactly as it is.

pub mod escape;
pub mod table;

use std::io::{IsTerminal, Write};

pub use table::{Layout, Rendered};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose(u8),
}

/// Which of the two streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The width of each stream that is a terminal; `None` for a pipe or a file. Found once, when the
/// printer is made; `Terminal::default()` is "neither is a terminal" (tests, in-process hosts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    pub stdout: Option<u16>,
    pub stderr: Option<u16>,
}

impl Terminal {
    /// The streams of this process as they are now.
    pub fn detect() -> Terminal {
        fn width(
            is_terminal: bool,
            size: Option<(terminal_size::Width, terminal_size::Height)>,
        ) -> Option<u16> {
            // A terminal that does not say its size is taken as the classic 80 columns.
            is_terminal.then(|| size.map_or(80, |(w, _)| w.0).max(20))
        }
        Terminal {
            stdout: width(
                std::io::stdout().is_terminal(),
                terminal_size::terminal_size_of(std::io::stdout()),
            ),
            stderr: width(
                std::io::stderr().is_terminal(),
                terminal_size::terminal_size_of(std::io::stderr()),
            ),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Printer {
    pub verbosity: Verbosity,
    /// `--json`: data on stdout is JSON.
    pub json: bool,
    pub terminal: Terminal,
}

impl Printer {
    /// A printer for this process's streams (terminals detected now).
    pub fn new(verbosity: Verbosity, json: bool) -> Printer {
        Printer {
            verbosity,
            json,
            terminal: Terminal::detect(),
        }
    }

    /// How a table printed on `stream` is laid out: wrapped to the terminal's width, or whole
    /// lines into a pipe or a file. No row cap: callers that cap say so (`Layout::capped`).
    pub fn layout(&self, stream: Stream) -> Layout {
        let width = match stream {
            Stream::Stdout => self.terminal.stdout,
            Stream::Stderr => self.terminal.stderr,
        };
        Layout {
            width,
            max_rows: None,
        }
    }

    pub fn verbose(&self) -> bool {
        matches!(self.verbosity, Verbosity::Verbose(_))
    }

    /// Data: the answer the user asked for, as text for a person (control characters made
    /// visible). Always printed, on stdout.
    pub fn data(&self, text: &str) {
        self.json(&escape::visible_lines(text));
    }

    /// Data as it is: JSON (`--json`), whose strings keep the org's exact text.
    pub fn json(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`dactl ... | head`) is not an error worth a panic.
        let _ = writeln!(out, "{text}");
    }

    /// Progress and summaries for a person, on stderr; silent with `-q`.
    pub fn info(&self, text: &str) {
        if self.verbosity != Verbosity::Quiet {
            eprintln!("{}", escape::visible_lines(text));
        }
    }

    /// Warnings, on stderr, even with `-q`; the word `warning` in yellow where colour is allowed.
    pub fn warn(&self, text: &str) {
        let text = escape::visible_lines(text);
        if self.colours_stderr() {
            eprintln!("\x1b[1;33mwarning\x1b[0m: {text}");
        } else {
            eprintln!("warning: {text}");
        }
    }

    /// Whether a progress bar may be drawn: stderr is a terminal, and neither `-q` nor `--json`
    /// (whose reader is a program, even when a person watches the terminal).
    pub fn shows_progress(&self) -> bool {
        self.verbosity != Verbosity::Quiet && !self.json && self.terminal.stderr.is_some()
    }

    /// Whether stderr may be coloured: a terminal, and `NO_COLOR` not set (see `colour_allowed`).
    pub fn colours_stderr(&self) -> bool {
        self.terminal.stderr.is_some() && colour_allowed()
    }
}

/// An error for a person, on stderr: `error: TEXT`, control characters made visible. Even with
/// `-q`; needs no printer, so it also serves before one is made.
pub fn error(text: impl std::fmt::Display) {
    eprintln!("error: {}", escape::visible_lines(&text.to_string()));
}

/// Text already laid out for stderr (a script error with its source line and caret), control
/// characters made visible.
pub fn text(text: &str) {
    eprintln!("{}", escape::visible_lines(text));
}

/// `NO_COLOR` (no-color.org): set to anything but the empty string, no colour anywhere.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
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
        .with_ansi(std::io::stderr().is_terminal() && colour_allowed())
        .without_time()
        .try_init();
}
