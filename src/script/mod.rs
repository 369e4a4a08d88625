//! The Rhai host: engine setup, host-function modules, running scripts, and the entry points the
//! CLI calls (`run`, `eval`, `check`).
//!
//! - `engine` builds the one engine (limits, Ctrl-C, `print`, imports, functions);
//! - `definitions` writes that engine's Rhai definition files for editors (`dactl definitions`);
//! - `functions/` holds the host functions, one `#[export_module]` per topic; their doc comments
//!   are the help text (`Host::function_docs`);
//! - `values`: the action and change values scripts get, the host's own, shared, read through
//!   getters;
//! - `convert` moves values in and out (serde out, checked arguments in);
//! - `errors` makes error maps for scripts and renders script errors with a caret;
//! - `imports` decides which files `import` may read (the script's own folder, `--module-path`);
//! - a script's values are drawn by `report::values` (tables and summaries).
//!
//! Rhai is synchronous and stays that way: every host function calls the blocking `Session`,
//! which owns the async runtime.

mod commands;
pub mod convert;
pub mod definitions;
pub mod engine;
pub mod errors;
pub mod functions;
pub mod imports;
mod state;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rhai::{AST, Dynamic, EvalAltResult, Map, Scope};

use crate::config::Inputs;
use crate::output::Printer;
use crate::session::Session;
use imports::{ModulePaths, Roots};
use state::Shared;
use values::Record;

pub use commands::{check, eval, install_ctrl_c, run};

/// Documentation of one host function, taken from its doc comment (for `:help` and README).
#[derive(Debug, Clone)]
pub struct FunctionDoc {
    pub name: String,
    /// e.g. `update_timeout(action_or_id, timeout) -> change`
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

/// The name of the one constant the host defines.
pub const ARGS: &str = "ARGS";

pub struct Host {
    engine: rhai::Engine,
    scope: Scope<'static>,
    /// Functions defined by earlier `eval` entries, kept for later ones.
    functions: AST,
    state: Shared,
    docs: Vec<FunctionDoc>,
    /// `--module-path` folders: imports may read from them as well as the script's own folder.
    modules: ModulePaths,
}

impl Host {
    /// A host whose functions talk to Genesys Cloud (or the sandbox) through `session`.
    pub fn new(session: Session, printer: Printer) -> Host {
        Host::build(Some(session), printer)
    }

    /// A host without a connection: scripts compile and `:help` works, but every host function
    /// that needs the API throws. This is what `dactl check` uses.
    pub fn offline(printer: Printer) -> Host {
        Host::build(None, printer)
    }

    fn build(session: Option<Session>, printer: Printer) -> Host {
        let state = state::HostState::new(session, printer);
        let engine = engine::build(&state);
        let docs = read_docs(&engine);
        let mut host = Host {
            engine,
            scope: Scope::new(),
            functions: AST::empty(),
            state,
            docs,
            modules: ModulePaths::default(),
        };
        host.set_args(BTreeMap::new());
        host
    }

    pub fn engine(&self) -> &rhai::Engine {
        &self.engine
    }

    /// The persistent scope of `eval` (REPL variables live here).
    pub fn scope(&self) -> &rhai::Scope<'static> {
        &self.scope
    }

    pub fn printer(&self) -> &Printer {
        &self.state.printer
    }

    /// Folders scripts may import from besides their own (`--module-path`).
    pub fn set_module_paths(&mut self, modules: ModulePaths) {
        self.modules = modules;
    }

    /// Evaluates `source` in the persistent scope; functions defined persist too.
    pub fn eval(&mut self, source: &str) -> Result<Dynamic, ScriptError> {
        self.eval_named("<repl>", source)
    }

    /// `eval` with a name for error locations, for text that is not a file (`<eval>`, REPL
    /// entries): it imports relative to, and only from inside, the current directory (and the
    /// module paths).
    pub fn eval_named(&mut self, name: &str, source: &str) -> Result<Dynamic, ScriptError> {
        self.set_import_roots(Roots::for_entry(self.modules.clone()));
        self.evaluate(name, source)
    }

    /// `eval` of the text of the script file `path` (`dactl run`, the REPL's `:load`): it
    /// imports relative to, and only from inside, the script's folder (and the module paths).
    pub fn eval_file(&mut self, path: &Path, source: &str) -> Result<Dynamic, ScriptError> {
        self.set_import_roots(Roots::for_file(path, self.modules.clone()));
        self.evaluate(&path.display().to_string(), source)
    }

    fn set_import_roots(&self, roots: Roots) {
        *self
            .state
            .import_roots
            .write()
            .unwrap_or_else(|e| e.into_inner()) = roots;
    }

    fn evaluate(&mut self, name: &str, source: &str) -> Result<Dynamic, ScriptError> {
        self.state.interrupt.store(false, Ordering::Relaxed);
        let text = strip_shebang(source);
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, &text)
            .map_err(|e| self.script_error(name, &text, &EvalAltResult::from(e)))?;
        ast.set_source(name);
        let mut combined = self.functions.merge(&ast);
        combined.set_source(name);
        match self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &combined)
        {
            Ok(value) => {
                self.functions = self.functions.merge(&ast.clone_functions_only());
                Ok(value)
            }
            Err(e) => Err(self.script_error(name, &text, &e)),
        }
    }

    pub fn run_file(&mut self, path: &Path) -> Result<Dynamic, ScriptError> {
        let text = read_script(path)?;
        self.eval_file(path, &text)
    }

    /// Compile-only check of a file and its imports, under the same import rule as a run.
    pub fn check_file(&self, path: &Path) -> Result<(), ScriptError> {
        let mut seen = BTreeSet::new();
        let roots = Roots::for_file(path, self.modules.clone());
        self.check_tree(path, &roots, &mut seen)
    }

    fn check_tree(
        &self,
        path: &Path,
        roots: &Roots,
        seen: &mut BTreeSet<PathBuf>,
    ) -> Result<(), ScriptError> {
        if !seen.insert(path.to_path_buf()) {
            return Ok(());
        }
        let text = strip_shebang(&read_script(path)?);
        let name = path.display().to_string();
        self.engine
            .compile(&text)
            .map_err(|e| self.script_error(&name, &text, &EvalAltResult::from(e)))?;
        let dir = path.parent();
        for (position, import) in imports_in(&text) {
            let target = imports::locate(&import, dir, roots).map_err(|e| ScriptError {
                rendered: errors::render_at(&e.to_string(), &name, &text, position),
                interrupted: false,
            })?;
            self.check_tree(&target, roots, seen)?;
        }
        Ok(())
    }

    pub fn function_docs(&self) -> Vec<FunctionDoc> {
        self.docs.clone()
    }

    /// Setting it stops the running script at its next operation with an `interrupted` error.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.state.interrupt.clone()
    }

    /// Sets the `ARGS` constant (from `--arg key=value`).
    pub fn set_args(&mut self, args: BTreeMap<String, String>) {
        let map: Map = args
            .into_iter()
            .map(|(k, v)| (k.into(), Dynamic::from(v)))
            .collect();
        // A constant cannot be assigned, so it is removed and pushed again.
        let _ = self.scope.remove::<Dynamic>(ARGS);
        self.scope.push_constant(ARGS, map);
    }

    /// What `auth(#{...})` starts from: the CLI's region, profile, rate, tokens and concurrency.
    pub fn set_inputs(&mut self, inputs: Inputs) {
        *self.state.inputs.lock().unwrap_or_else(|e| e.into_inner()) = inputs;
    }

    /// Calls `f` with the session, when this host has one.
    pub fn with_session<R>(&self, f: impl FnOnce(&Session) -> R) -> Option<R> {
        self.state
            .session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(f)
    }

    /// Every change of this host's run: the session's, then those that failed before reaching
    /// it (unknown ids in a batch).
    /// The evidence decide closures gave, by action id (see `HostState::evidence`).
    pub fn evidence(&self) -> BTreeMap<String, String> {
        self.state
            .evidence
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn all_changes(&self) -> Vec<crate::change::Change> {
        let mut changes = self.with_session(|s| s.changes()).unwrap_or_default();
        changes.extend(
            self.state
                .local_failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        changes
    }

    /// Calls `f` with the session mutably (e.g. `set_dry_run`), when this host has one.
    pub fn with_session_mut<R>(&mut self, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        self.state
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .map(f)
    }

    /// Ids and names of the actions read so far (for completion).
    pub fn seen_actions(&self) -> Vec<(String, Option<String>)> {
        let seen = self.state.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter()
            .map(|(id, entry)| (id.clone(), entry.name.clone()))
            .collect()
    }

    /// Names of the functions that earlier entries defined.
    pub fn script_functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .functions
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect();
        names.dedup();
        names
    }

    /// While on, `print` output is kept (see `take_printed`) instead of written to stdout.
    pub fn capture_prints(&self, on: bool) {
        *self
            .state
            .captured
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = on.then(Vec::new);
    }

    pub fn take_printed(&self) -> Vec<String> {
        self.state
            .captured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Turns any Rhai error into the rendered form, reading imported files for their lines.
    fn script_error(&self, name: &str, text: &str, error: &EvalAltResult) -> ScriptError {
        let (inner, position, notes, source) = errors::innermost(error);
        let message = errors::describe(inner);
        let (shown_name, shown_text) = match source.filter(|s| s != name) {
            Some(src) => {
                // A module is named by the real path it was loaded from (see `imports`); the
                // other candidates cover a name given as the import was written.
                let dir = Path::new(name).parent().unwrap_or(Path::new(""));
                let candidates = [
                    PathBuf::from(&src),
                    dir.join(&src).with_extension("rhai"),
                    PathBuf::from(&src).with_extension("rhai"),
                ];
                match candidates.iter().find(|p| p.is_file()) {
                    Some(path) => {
                        let file = std::fs::read_to_string(path).unwrap_or_default();
                        (path.display().to_string(), strip_shebang(&file))
                    }
                    None => (src, String::new()),
                }
            }
            None => (name.to_owned(), text.to_owned()),
        };
        let mut rendered = errors::render_at(&message, &shown_name, &shown_text, position);
        for note in notes.iter().rev() {
            rendered.push_str(&format!("\n  = note: {note}"));
        }
        ScriptError {
            rendered,
            interrupted: errors::is_interrupt(error),
        }
    }
}

/// The largest script dactl reads. Real scripts are a few kilobytes; a file this big is a
/// mistake (the wrong path, a data dump), and compiling it would take minutes.
pub const MAX_SCRIPT_BYTES: u64 = 10 << 20;

fn read_script(path: &Path) -> Result<String, ScriptError> {
    let shown = path.display();
    let fail = |why: String| ScriptError {
        rendered: format!("error: {why}"),
        interrupted: false,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| {
            fail(format!(
                "Cannot read the script `{shown}`: {e}. Check the path (it is relative to the \
                 current directory)."
            ))
        })?
        .len();
    if size > MAX_SCRIPT_BYTES {
        return Err(fail(format!(
            "The script `{shown}` is {size} bytes, over dactl's limit of {MAX_SCRIPT_BYTES} bytes \
             (10 MiB). Check the path, or split the work into smaller scripts."
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        fail(format!(
            "Cannot read the script `{shown}`: {e}. Check the path and its permissions."
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "The script `{shown}` is not UTF-8 text (invalid byte at offset {}); a Rhai script is \
             a text file. Check the path, or save the file as UTF-8.",
            e.utf8_error().valid_up_to()
        ))
    })?;
    // An empty file is most often a truncated save or the wrong path; running it would report
    // success for doing nothing.
    if text.trim().is_empty() {
        return Err(fail(format!(
            "The script `{shown}` is empty, so there is nothing to run. Check the path, or write \
             the script (see `examples/`)."
        )));
    }
    Ok(text)
}

/// Blanks a `#!` first line (keeping its newline, so line numbers stay right): Rhai's own
/// `compile_file` does this, but scripts here are compiled from text.
pub fn strip_shebang(text: &str) -> String {
    match text.strip_prefix("#!") {
        Some(rest) => rest
            .find('\n')
            .map_or_else(String::new, |n| rest[n..].to_owned()),
        None => text.to_owned(),
    }
}

/// The paths of `import "..."` statements with the position of each path, found textually
/// (enough to check them; the engine resolves them for real when the script runs).
fn imports_in(text: &str) -> Vec<(rhai::Position, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if let Some(rest) = line.trim_start().strip_prefix("import")
            && let Some(quoted) = rest.trim_start().strip_prefix('"')
            && let Some(end) = quoted.find('"')
        {
            // The column of the opening quote, where Rhai puts an import's position.
            let column = indent + "import".len() + (rest.len() - rest.trim_start().len()) + 1;
            let position = rhai::Position::new(
                u16::try_from(number + 1).unwrap_or(u16::MAX),
                u16::try_from(column).unwrap_or(u16::MAX),
            );
            found.push((position, quoted[..end].to_owned()));
        }
    }
    found
}

/// The first sentence of the first paragraph, on one line (doc comments wrap at 100 columns).
fn first_sentence(lines: &[String]) -> String {
    let paragraph: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .take_while(|l| !l.is_empty())
        .collect();
    let text = paragraph.join(" ");
    match text.find(". ") {
        Some(end) => text[..=end].to_owned(),
        None => text,
    }
}

/// The type a host function gives a script: `T` of the `Result<T, ...>` (or this crate's alias
/// `R<T>`) that a `return_raw` function is declared with, as its metadata spells it; any other
/// type as it is.
pub(crate) fn returned_type(raw: &str) -> &str {
    let raw = raw.trim();
    match raw.split_once('<') {
        Some(("Result" | "R", rest)) => rest.split([',', '>']).next().unwrap_or(rest).trim(),
        _ => raw,
    }
}

/// Reads the host functions' metadata (doc comments included) back out of the engine.
fn read_docs(engine: &rhai::Engine) -> Vec<FunctionDoc> {
    let Ok(json) = engine.gen_fn_metadata_to_json(false) else {
        return Vec::new();
    };
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    let mut docs = Vec::new();
    for f in value["functions"].as_array().into_iter().flatten() {
        // The getters and methods of actions and changes are not host functions (`values`
        // documents them).
        if f["params"][0]["type"]
            .as_str()
            .is_some_and(values::is_receiver)
        {
            continue;
        }
        let name = f["name"].as_str().unwrap_or_default().to_owned();
        let params: Vec<&str> = f["params"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        let returns = match returned_type(f["returnType"].as_str().unwrap_or_default()) {
            "" | "()" => String::new(),
            "Map" => " -> map".into(),
            "Array" => " -> array".into(),
            "bool" => " -> bool".into(),
            "Dynamic" => " -> value".into(),
            "ScriptAction" => format!(" -> {}", values::ScriptAction::TYPE_NAME),
            "ScriptChange" => format!(" -> {}", values::ScriptChange::TYPE_NAME),
            other => format!(" -> {other}"),
        };
        let lines: Vec<String> = f["docComments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .flat_map(|c| c.lines().map(str::to_owned).collect::<Vec<_>>())
            .map(|l| {
                let l = l.trim_start();
                let l = l.strip_prefix("///").unwrap_or(l);
                l.strip_prefix(' ').unwrap_or(l).to_owned()
            })
            .collect();
        let doc = lines.join("\n").trim().to_owned();
        docs.push(FunctionDoc {
            signature: format!("{name}({}){returns}", params.join(", ")),
            summary: first_sentence(&lines),
            doc,
            name,
        });
    }
    let arity = |d: &FunctionDoc| d.signature.matches(',').count();
    docs.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(arity(a).cmp(&arity(b)))
            .then(a.signature.cmp(&b.signature))
    });
    docs
}

/// Exit codes of the entry points (the same as `app`'s).
pub const EXIT_SUCCESS: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_INTERRUPTED: u8 = 130;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_is_blanked_keeping_lines() {
        assert_eq!(
            strip_shebang("#!/usr/bin/env -S dactl run\nlet x = 1;"),
            "\nlet x = 1;"
        );
        assert_eq!(strip_shebang("let x = 1;"), "let x = 1;");
    }

    #[test]
    fn imports_are_found_with_the_position_of_their_path() {
        let found = imports_in("let x = 1;\n  import \"lib/common\" as common;");
        assert_eq!(found.len(), 1);
        let (position, path) = &found[0];
        assert_eq!(path, "lib/common");
        assert_eq!((position.line(), position.position()), (Some(2), Some(10)));
    }
}

#[cfg(test)]
mod host_tests {
    use super::*;

    #[test]
    fn docs_come_from_doc_comments() {
        let host = Host::offline(Printer::default());
        let docs = host.function_docs();
        let names: BTreeSet<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        for name in [
            "auth",
            "fetch_action",
            "list_actions",
            "update_timeout",
            "update_timeouts",
            "verify",
            "backoff",
            "dry_run",
        ] {
            assert!(names.contains(name), "{name} missing from {names:?}");
        }
        let fetch = docs.iter().find(|d| d.name == "fetch_action").unwrap();
        assert_eq!(fetch.signature, "fetch_action(action_or_id) -> action");
        assert!(
            fetch.summary.starts_with("Reads one action"),
            "{}",
            fetch.summary
        );
        assert!(fetch.doc.contains("Example:"), "{}", fetch.doc);
    }

    #[test]
    fn variables_and_functions_persist_between_entries() {
        let mut host = Host::offline(Printer::default());
        let _ = host.eval("let x = 20; fn twice(n) { n * 2 }").unwrap();
        assert_eq!(host.eval("twice(x) + 2").unwrap().as_int().unwrap(), 42);
    }

    #[test]
    fn errors_point_at_the_column() {
        let mut host = Host::offline(Printer::default());
        let e = host.eval("let a = 1;\nlet b = a + nope;").unwrap_err();
        assert!(e.rendered.contains("<repl>:2:13"), "{}", e.rendered);
        assert!(!e.interrupted);
    }

    #[test]
    fn interrupt_flag_stops_a_loop() {
        let mut host = Host::offline(Printer::default());
        let flag = host.interrupt_flag();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            flag.store(true, Ordering::Relaxed);
        });
        let e = host.eval("let i = 0; loop { i += 1; }").unwrap_err();
        t.join().unwrap();
        assert!(e.interrupted, "{}", e.rendered);
        assert_eq!(host.eval("40 + 2").unwrap().as_int().unwrap(), 42);
    }
}
