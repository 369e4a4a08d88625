//! The REPL: a rustyline editor (`editor`) over a core that tests drive in-process (`core`), and
//! the text rules both share (`input`: multi-line and word boundaries).
//!
//! History lives in `$XDG_DATA_HOME/dactl/history.txt` (`dirs::data_dir()`), saved after each
//! entry so a killed session keeps it. Ctrl-C while an entry runs stops the entry (the SIGINT
//! handler sets the host's interrupt flag; rustyline has its own handler only while reading);
//! Ctrl-C at the prompt clears the line; Ctrl-D quits.

pub mod core;
pub mod editor;
pub mod input;

use std::io::IsTerminal;
use std::path::PathBuf;

use rustyline::Editor;
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;

pub use self::core::{ReplCore, Reply, Words};
use crate::script::{Host, install_ctrl_c};
use editor::DactlHelper;

pub const PROMPT: &str = "dactl> ";

/// Where history is kept, when the platform has a data dir.
pub fn history_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("dactl").join("history.txt"))
}

/// `dactl repl`: runs until `:quit` or Ctrl-D and returns the exit code (0, or 1 when the
/// terminal could not be used). Input that is not a terminal (a pipe, a file) is a script fed
/// line by line: it stops at the first error, with exit code 1, as `dactl run` does. The first
/// entry that writes says where the journal is (`journal: PATH`), once.
pub fn run(host: Host) -> u8 {
    let printer = host.printer().clone();
    let piped = !std::io::stdin().is_terminal();
    let mut journal_told = false;
    let flag = host.interrupt_flag();
    let mut core = ReplCore::new(host);
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(5000)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.build());
    let editor = config.and_then(Editor::<DactlHelper, FileHistory>::with_config);
    let mut editor = match editor {
        Ok(editor) => editor,
        Err(e) => {
            crate::output::error(format!("cannot start the line editor: {e}."));
            return 1;
        }
    };
    editor.set_helper(Some(DactlHelper::default()));
    // After the editor: rustyline points SIGINT at its own handler when its terminal is made
    // (and reads keys with signals off, so Ctrl-C at the prompt is a key, not a signal). While an
    // entry runs, SIGINT must reach the host's flag instead.
    if let Err(e) = install_ctrl_c(flag) {
        printer.warn(&format!(
            "Ctrl-C will end dactl instead of the running entry: {e}"
        ));
    }
    let history = history_path();
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(path);
    }
    printer.info("dactl REPL: `:help` lists the functions, `:quit` or Ctrl-D leaves.");
    loop {
        if let Some(helper) = editor.helper_mut() {
            helper.words = core.words();
        }
        match editor.readline(PROMPT) {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.as_str());
                if let Some(path) = &history
                    && let Err(e) = editor.save_history(path)
                {
                    printer.warn(&format!("cannot save history to `{}`: {e}", path.display()));
                }
                let reply = core.handle(&line);
                if !reply.output.is_empty() {
                    printer.data(reply.output.trim_end());
                }
                if !journal_told
                    && let Some(path) = core.host().with_session(|s| s.journal_path()).flatten()
                {
                    printer.info(&format!("journal: {}", path.display()));
                    journal_told = true;
                }
                if !reply.error.is_empty() {
                    crate::output::text(&reply.error);
                    if piped {
                        return 1;
                    }
                }
                if reply.quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                crate::output::error(format!("cannot read from the terminal: {e}."));
                return 1;
            }
        }
    }
    0
}
