//! The Rhai host: engine setup, host-function modules, and running scripts.
//! (Interface stub: filled in by the script-host work.)

use std::collections::BTreeMap;
use std::path::Path;

use rhai::Dynamic;

/// Documentation of one host function, taken from its doc comment (for `:help` and README).
#[derive(Debug, Clone)]
pub struct FunctionDoc {
    pub name: String,
    /// e.g. `update_timeout(action_or_id, timeout) -> map`
    pub signature: String,
    /// First line of the doc comment.
    pub summary: String,
    /// The whole doc comment, including its example.
    pub doc: String,
}

/// A script error, ready to show: `file:line:col`, the source line, a caret under the column.
#[derive(Debug, thiserror::Error)]
#[error("{rendered}")]
pub struct ScriptError {
    pub rendered: String,
    /// Interrupted by Ctrl-C.
    pub interrupted: bool,
}

pub struct Host {}

impl Host {
    pub fn engine(&self) -> &rhai::Engine {
        todo!()
    }
    /// The persistent scope of `eval` (REPL variables live here).
    pub fn scope(&self) -> &rhai::Scope<'static> {
        todo!()
    }
    /// Evaluates `source` in the persistent scope; functions defined persist too.
    pub fn eval(&mut self, _source: &str) -> Result<Dynamic, ScriptError> {
        todo!()
    }
    pub fn run_file(&mut self, _path: &Path) -> Result<Dynamic, ScriptError> {
        todo!()
    }
    /// Compile-only check of a file (and its imports).
    pub fn check_file(&self, _path: &Path) -> Result<(), ScriptError> {
        todo!()
    }
    pub fn function_docs(&self) -> Vec<FunctionDoc> {
        todo!()
    }
    /// Setting it stops the running script at its next operation with an `interrupted` error.
    pub fn interrupt_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        todo!()
    }
    pub fn set_args(&mut self, _args: BTreeMap<String, String>) {
        todo!()
    }
}
