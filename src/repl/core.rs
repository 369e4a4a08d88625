//! `ReplCore`: everything the REPL does except reading keys, so tests can feed it lines and read
//! what it answers. Commands (`:help`, `:vars`, `:save`, `:load`, `:dry-run`, `:quit`), entries,
//! completion and hints live here; `editor` only connects them to rustyline.

use std::collections::BTreeSet;
use std::path::Path;

use crate::output::Stream;
use crate::repl::input;
use crate::report::values as render;
use crate::script::{FunctionDoc, Host};

/// Rhai keywords and the built-in functions people reach for first.
pub const KEYWORDS: &[&str] = &[
    "let",
    "const",
    "fn",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "do",
    "until",
    "return",
    "throw",
    "try",
    "catch",
    "break",
    "continue",
    "import",
    "export",
    "as",
    "true",
    "false",
    "switch",
    "private",
    "this",
    "Fn",
    "call",
    "curry",
    "print",
    "debug",
    "type_of",
    "is_def_var",
    "is_def_fn",
    "len",
    "filter",
    "map",
    "reduce",
    "contains",
    "sort",
    "keys",
    "values",
    "to_string",
    "parse_int",
];

/// Fields of the maps host functions return, and the methods most used on them: completed
/// after a `.`.
pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "category",
    "integration_id",
    "version",
    "secure",
    "timeout_seconds",
    "kind",
    "config",
    "before",
    "after",
    "status",
    "reason",
    "ok",
    "checked",
    "mismatches",
    "region",
    "api_base",
    "expires_in",
    "code",
    "message",
    "action_id",
    "correlation_id",
    "retryable",
    "len",
    "filter",
    "map",
    "reduce",
    "contains",
    "sort",
    "keys",
    "values",
    "push",
    "is_empty",
];

/// The REPL commands, for completion and `:help`.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        ":help",
        "list the host functions; `:help NAME` shows one in full",
    ),
    (":vars", "list the variables and functions defined so far"),
    (
        ":save",
        "`:save FILE` writes this session's successful entries as a script",
    ),
    (
        ":load",
        "`:load FILE` runs a script here, keeping its variables and functions",
    ),
    (
        ":dry-run",
        "`:dry-run on|off` plans changes without writing (no argument: show the setting)",
    ),
    (":quit", "leave (Ctrl-D does too)"),
];

/// What the REPL answers to one input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// Text for stdout: printed output and the entry's value.
    pub output: String,
    /// Text for stderr: an error.
    pub error: String,
    pub quit: bool,
}

impl Reply {
    fn out(text: impl Into<String>) -> Reply {
        Reply {
            output: text.into(),
            ..Reply::default()
        }
    }
    fn err(text: impl Into<String>) -> Reply {
        Reply {
            error: text.into(),
            ..Reply::default()
        }
    }
}

/// The words Tab can complete, taken from the host before each prompt.
#[derive(Debug, Clone, Default)]
pub struct Words {
    /// Host functions with their argument list, e.g. `("fetch_action", "(id)")`.
    pub functions: Vec<(String, String)>,
    pub variables: Vec<String>,
    /// Action ids and names seen in earlier results: completed inside strings.
    pub actions: Vec<String>,
}

impl Words {
    /// Completion start and candidates for the text before `pos`.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let pos = pos.min(line.len());
        if line.trim_start().starts_with(':') && !line[..pos].contains(' ') {
            let start = line.find(':').unwrap_or(0);
            let prefix = &line[start..pos];
            let found = COMMANDS
                .iter()
                .map(|(c, _)| c.to_string())
                .filter(|c| c.starts_with(prefix))
                .collect();
            return (start, found);
        }
        if let Some(rest) = line[..pos].strip_prefix(":help ") {
            let start = pos - rest.len();
            let found = self
                .functions
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| n.starts_with(rest))
                .collect::<BTreeSet<_>>();
            return (start, found.into_iter().collect());
        }
        let inside = input::in_string(line, pos);
        let start = input::word_start(line, pos, inside);
        let prefix = &line[start..pos];
        let mut found = BTreeSet::new();
        if !inside && line[..start].ends_with('.') {
            // After a dot: the fields of action and change maps, and common methods.
            let fields = FIELDS.iter().filter(|f| f.starts_with(prefix));
            found.extend(fields.map(|f| f.to_string()));
        } else if inside {
            found.extend(
                self.actions
                    .iter()
                    .filter(|a| a.starts_with(prefix))
                    .cloned(),
            );
        } else if !prefix.is_empty() {
            let names = self
                .functions
                .iter()
                .map(|(n, _)| n.as_str())
                .chain(self.variables.iter().map(String::as_str))
                .chain(KEYWORDS.iter().copied());
            found.extend(names.filter(|n| n.starts_with(prefix)).map(str::to_owned));
        }
        (start, found.into_iter().collect())
    }

    /// The grey text after the cursor: the rest of the only host function that fits, with its
    /// arguments.
    pub fn hint(&self, line: &str, pos: usize) -> Option<String> {
        if pos < line.len() || input::in_string(line, pos) {
            return None;
        }
        let start = input::word_start(line, pos, false);
        let prefix = &line[start..pos];
        if prefix.len() < 2 {
            return None;
        }
        let mut fits = self.functions.iter().filter(|(n, _)| n.starts_with(prefix));
        let (name, args) = fits.next()?;
        if fits.any(|(n, _)| n != name) {
            return None;
        }
        Some(format!("{}{args}", &name[prefix.len()..]))
    }
}

pub struct ReplCore {
    host: Host,
    /// Entries that ran without error, in order: what `:save` writes.
    entries: Vec<String>,
}

impl ReplCore {
    pub fn new(host: Host) -> ReplCore {
        ReplCore {
            host,
            entries: Vec::new(),
        }
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn host_mut(&mut self) -> &mut Host {
        &mut self.host
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Runs one complete input: a `:command` or a Rhai entry.
    pub fn handle(&mut self, input: &str) -> Reply {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Reply::default();
        }
        if let Some(command) = trimmed.strip_prefix(':') {
            return self.command(command);
        }
        let result = self.host.eval(input);
        let printed = self.printed();
        match result {
            Ok(value) => {
                self.entries.push(trimmed.to_owned());
                let mut out = printed;
                let layout = self.host.printer().layout(Stream::Stdout);
                if let Some(text) = render::value(&value, layout) {
                    out.push_str(&text);
                }
                Reply::out(out)
            }
            Err(e) => Reply {
                output: printed,
                error: e.rendered,
                quit: false,
            },
        }
    }

    fn printed(&self) -> String {
        self.host
            .take_printed()
            .iter()
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn command(&mut self, command: &str) -> Reply {
        let (name, arg) = command
            .split_once(char::is_whitespace)
            .unwrap_or((command, ""));
        let arg = arg.trim();
        match name {
            "help" | "h" if arg.is_empty() => Reply::out(self.help()),
            "help" | "h" => self.help_for(arg),
            "vars" => Reply::out(self.vars()),
            "save" => self.save(arg),
            "load" => self.load(arg),
            "dry-run" => self.dry_run(arg),
            "quit" | "q" | "exit" => Reply {
                quit: true,
                ..Reply::default()
            },
            other => Reply::err(format!(
                "error: there is no command `:{other}`; `:help` lists the commands."
            )),
        }
    }

    /// Each host function once (overloads share a line), then `ARGS` and the commands.
    pub fn help(&self) -> String {
        let docs = self.host.function_docs();
        let mut seen = BTreeSet::new();
        let rows: Vec<Vec<String>> = docs
            .iter()
            .filter(|d| seen.insert(d.name.clone()))
            .map(|d| vec![d.name.clone(), d.summary.clone()])
            .collect();
        let mut out = String::from("Host functions (`:help NAME` for one in full):\n");
        for row in &rows {
            out.push_str(&format!("  {:<16} {}\n", row[0], row[1]));
        }
        out.push_str(&format!(
            "  {:<16} {}\n",
            "ARGS", "map of the `--arg key=value` pairs given to `dactl run`"
        ));
        out.push_str("\nCommands:\n");
        for (c, d) in COMMANDS {
            out.push_str(&format!("  {c:<16} {d}\n"));
        }
        out.push_str(
            "\nEnter continues the entry while brackets or a string are open; Tab completes.",
        );
        out
    }

    fn help_for(&self, name: &str) -> Reply {
        let name = name.trim_end_matches("()");
        if name == crate::script::ARGS {
            return Reply::out(
                "ARGS\n\n  A constant map of the `--arg key=value` pairs given to `dactl run`; values are\n  strings. Test for a key with `\"key\" in ARGS`.\n\n  Example: `let target = if \"target\" in ARGS { ARGS.target } else { \"30s\" };`",
            );
        }
        let docs: Vec<FunctionDoc> = self
            .host
            .function_docs()
            .into_iter()
            .filter(|d| d.name == name)
            .collect();
        if docs.is_empty() {
            return Reply::err(format!(
                "error: there is no host function `{name}`; `:help` lists them."
            ));
        }
        let text: Vec<String> = docs
            .iter()
            .map(|d| format!("{}\n\n{}", d.signature, indent(&d.doc)))
            .collect();
        Reply::out(text.join("\n\n"))
    }

    /// Variables in scope with a short form of their value, then the functions defined here.
    pub fn vars(&self) -> String {
        let mut out = Vec::new();
        for (name, constant, value) in self.host.scope().iter() {
            let mut text = render::debug(&value);
            if text.chars().count() > 70 {
                text = format!(
                    "{}... ({})",
                    text.chars().take(67).collect::<String>(),
                    self.host.engine().map_type_name(value.type_name())
                );
            }
            let kind = if constant { "const" } else { "let" };
            out.push(format!("{kind} {name} = {text}"));
        }
        for f in self.host.script_functions() {
            out.push(format!("fn {f}(...)"));
        }
        out.join("\n")
    }

    fn save(&self, path: &str) -> Reply {
        if path.is_empty() {
            return Reply::err("error: `:save` needs a file name, e.g. `:save raise.rhai`.");
        }
        let mut text =
            String::from("// Saved from the dactl REPL: the entries that ran without error.\n");
        for entry in &self.entries {
            text.push_str(entry);
            if !entry.ends_with(';') && !entry.ends_with('}') {
                text.push(';');
            }
            text.push('\n');
        }
        match std::fs::write(path, text) {
            Ok(()) => {
                let n = self.entries.len();
                Reply::out(format!(
                    "Saved {n} {} to `{path}`.",
                    if n == 1 { "entry" } else { "entries" }
                ))
            }
            Err(e) => Reply::err(format!("error: cannot write `{path}`: {e}.")),
        }
    }

    fn load(&mut self, path: &str) -> Reply {
        if path.is_empty() {
            return Reply::err(
                "error: `:load` needs a file name, e.g. `:load scripts/report-timeouts.rhai`.",
            );
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => crate::script::strip_shebang(&text),
            Err(e) => return Reply::err(format!("error: cannot read `{path}`: {e}.")),
        };
        let result = self.host.eval_file(Path::new(path), &text);
        let printed = self.printed();
        match result {
            Ok(value) => {
                self.entries.push(text.trim().to_owned());
                let mut out = printed;
                out.push_str(
                    &render::value(&value, self.host.printer().layout(Stream::Stdout))
                        .unwrap_or_else(|| format!("Loaded `{}`.", Path::new(path).display())),
                );
                Reply::out(out)
            }
            Err(e) => Reply {
                output: printed,
                error: e.rendered,
                quit: false,
            },
        }
    }

    fn dry_run(&mut self, arg: &str) -> Reply {
        let on = match arg {
            "on" | "true" => true,
            "off" | "false" => false,
            "" => {
                let state = self.host.with_session(|s| s.dry_run());
                return match state {
                    Some(on) => Reply::out(format!("dry run is {}", if on { "on" } else { "off" })),
                    None => Reply::err("error: there is no session to set dry run on."),
                };
            }
            other => {
                return Reply::err(format!(
                    "error: `:dry-run` takes `on` or `off`, not `{other}`."
                ));
            }
        };
        match self.host.with_session_mut(|s| s.set_dry_run(on)) {
            Some(()) if on => Reply::out("dry run is on: changes are planned, nothing is written"),
            Some(()) => Reply::out("dry run is off: changes are written"),
            None => Reply::err("error: there is no session to set dry run on."),
        }
    }

    /// The words Tab completes right now.
    pub fn words(&self) -> Words {
        let mut functions: Vec<(String, String)> = Vec::new();
        for d in self.host.function_docs() {
            if !functions.iter().any(|(n, _)| *n == d.name) {
                let args = d.signature.strip_prefix(d.name.as_str()).unwrap_or("");
                let args = args.split(" ->").next().unwrap_or(args).to_owned();
                functions.push((d.name, args));
            }
        }
        for f in self.host.script_functions() {
            functions.push((f, "(...)".into()));
        }
        let variables = self
            .host
            .scope()
            .iter()
            .map(|(n, _, _)| n.to_owned())
            .collect();
        let mut actions = Vec::new();
        for (id, name) in self.host.seen_actions() {
            actions.push(id);
            actions.extend(name);
        }
        Words {
            functions,
            variables,
            actions,
        }
    }

    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        self.words().complete(line, pos)
    }

    pub fn hint(&self, line: &str, pos: usize) -> Option<String> {
        self.words().hint(line, pos)
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("  {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
