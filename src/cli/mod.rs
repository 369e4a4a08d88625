//! The command line: clap types only. `parse` turns what was typed into checked values once;
//! nothing past this module sees clap.
//!
//! Every flag of `GlobalArgs` is global, so `dactl --rate 600 run x.rhai` and `dactl run x.rhai
//! --rate 600` both work. Some of them mean nothing to a few commands (`--dry-run` to `dactl
//! sandbox`, `--journal` to `dactl man`): `command` keeps those out of that command's `--help`
//! and man page, `completion_command` out of its completions, and `parse` refuses them there as
//! a usage error, as `--report` is refused by commands that change nothing. The clap way used: clap copies a global flag into a
//! subcommand only when the subcommand has no argument of the same id, so `command` gives those
//! subcommands a hidden copy of the flag; it is parsed into the same field, and shown nowhere.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::output::Verbosity;
use crate::sandbox::Variants;

mod sandbox;

pub use sandbox::{SandboxArgs, sandbox_variants};

#[derive(Debug, Parser)]
#[command(
    name = "dactl",
    version,
    about = "Scriptable, safe bulk changes to Genesys Cloud Data Action timeouts",
    long_about = "dactl changes Genesys Cloud Data Action timeouts (config.timeoutSeconds, 1 to 60 seconds) \
                  from Rhai scripts, one-liners or an interactive REPL, within the platform's rate limits. \
                  Try it with no credentials: `dactl --sandbox repl`."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Genesys Cloud region or domain (e.g. `eu-west-1`, `mypurecloud.ie`), or
    /// `http://127.0.0.1:PORT` for a local sandbox. Default: env GENESYSCLOUD_REGION, then the profile's.
    #[arg(long, visible_alias = "region", global = true, value_name = "REGION")]
    pub environment: Option<String>,

    /// Profile of the `gc` CLI's ~/.gc/config.toml to take credentials from.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Start an in-process sandbox org and work on it (no credentials needed).
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// A sandbox behaviour where the platform's is unconfirmed, as OPTION=VALUE (repeatable, or
    /// comma-separated), e.g. `templates=inline`: see `dactl sandbox --help` for every option.
    /// Applies to `--sandbox` and to `dactl sandbox`.
    #[arg(long, global = true, value_name = "OPTION=VALUE", env = "DACTL_SANDBOX_VARIANT",
          value_delimiter = ',', value_parser = parse_variant)]
    pub sandbox_variant: Vec<String>,

    /// Seconds one request may take before it is abandoned (reads are then retried). Default 30.
    #[arg(long, global = true, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout: Option<u64>,

    /// Requests per minute per token (Genesys Cloud allows 300 per token); a run with N tokens
    /// goes up to N times this.
    #[arg(long, global = true, default_value_t = 300, value_name = "PER_MINUTE",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,

    /// Tokens to spread requests over, each with its own rate limit, minted only as the work
    /// needs them (1 to 50). Default: the profile's `token_pool_size`, else 10. A ready-made
    /// access token (GENESYSCLOUD_ACCESS_TOKEN) is always one.
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub tokens: Option<u32>,

    /// Requests in flight at once, over all tokens (1 to 64). Default: 4 per token, at least 8,
    /// at most 64.
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: Option<u32>,

    /// Plan only: send no write request of any kind.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Skip the canary: by default the run's first write goes alone and is read back whole
    /// (template text included) before any other; anything but its timeout changed stops the run
    /// and puts it back.
    #[arg(long, global = true)]
    pub no_canary: bool,

    /// Journal file for this run (default: under the XDG state dir, dactl/journal/).
    #[arg(long, global = true, value_name = "PATH")]
    pub journal: Option<PathBuf>,

    /// Plan only, and save the plan to FILE (JSON) for `dactl apply FILE`. Implies `--dry-run`.
    #[arg(long, global = true, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,

    /// Also write a change report for an approval board to FILE: `.md` (Markdown) or `.html` (one
    /// self-contained page). For `run`, `eval`, `apply`, `undo` and `actions set-timeout`, dry
    /// runs too.
    #[arg(long, global = true, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Data on stdout as JSON.
    #[arg(long, global = true)]
    pub json: bool,

    /// A folder scripts may also import modules from (repeatable). Without it a script imports
    /// only from its own folder and below it (`eval` and the REPL: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
}

impl GlobalArgs {
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, n) => Verbosity::Verbose(n),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Rhai script.
    Run {
        /// The script (`.rhai`). A `#!/usr/bin/env -S dactl run` first line is allowed.
        file: PathBuf,
        /// A value for the script's `ARGS` map, as key=value (repeatable).
        #[arg(long = "arg", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        args: Vec<(String, String)>,
    },
    /// Evaluate one expression and print its value; one that changes timeouts is a run (report,
    /// canary, journal, `--report`, `--plan-out`, exit codes as `run`).
    Eval {
        /// Rhai source, e.g. 'list_actions().len()'.
        expr: String,
    },
    /// Compile scripts without running them (for CI of script repositories).
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Interactive Rhai shell with the dactl functions (what bare `dactl` does on a terminal).
    Repl,
    /// Put back the timeouts a run changed, from its journal.
    ///
    /// Each action gets its timeout from before the run (the field removed when it was unset)
    /// where its timeout is still the one the run set; otherwise it is skipped, `changed since`.
    /// Undo writes its own journal.
    Undo {
        /// The run's journal (the path printed after `journal:`).
        #[arg(value_name = "JOURNAL")]
        file: PathBuf,
        /// Put the old timeout back even where someone changed it since the run.
        #[arg(long)]
        force: bool,
    },
    /// Apply a plan saved with `--dry-run --plan-out FILE`, exactly as planned.
    ///
    /// An action whose version changed since the plan is re-read and changed only while its
    /// timeout is still the planned `before`; otherwise it is skipped, `changed since planned`.
    Apply {
        /// The plan file.
        plan: PathBuf,
    },
    /// One-shot commands on actions, no script needed.
    #[command(subcommand)]
    Actions(ActionsCommand),
    /// Check the connection and describe the org, read-only: for a first contact and bug reports.
    ///
    /// Shows the region and hosts, the token's lifetime (or the exact failure and its fix), the
    /// read permission (edit permission cannot be checked without a write: it says where to
    /// look), counts of actions by kind and integration, unset timeouts, templates, drafts, the
    /// round-trip latency, what setting every standard action would cost at `--rate`, and which
    /// platform variants the org shows. Makes one failed login on purpose (a made-up client id)
    /// to see how the login host refuses one. Nothing secret is printed: no secret, no token, no
    /// template text. A table, or JSON with `--json`. Exit 1 when a check failed.
    Doctor,
    /// Serve a sandbox org that behaves like Genesys Cloud, until killed.
    Sandbox(Box<SandboxArgs>),
    /// Print shell completions.
    ///
    /// e.g. `dactl completions bash > ~/.local/share/bash-completion/completions/dactl` (README,
    /// "Install", has zsh and fish).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    ///
    /// e.g. `dactl man > ~/.local/share/man/man1/dactl.1`. The page names a page per command
    /// (`dactl-run(1)`, ...): `dactl man run` prints that one, `dactl man actions set-timeout` a
    /// nested one.
    Man {
        /// A command whose own page to print instead, e.g. `run` or `actions set-timeout`.
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Write Rhai definition files of every dactl function into DIR, for editors.
    ///
    /// The files (`*.d.rhai`) declare the host functions (`fetch_action`, `update_timeouts`, ...)
    /// with their documentation, the `ARGS` constant, and Rhai's own functions and operators, so
    /// that an editor's Rhai language server completes and checks scripts. DIR is created when
    /// missing; files of the same names are replaced. Example: `dactl definitions
    /// .dactl/definitions` in a script repository, beside `dactl check scripts/*.rhai` in its CI.
    Definitions {
        /// The folder to write into.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// The global flags that only a command working on an org or a script uses (field ids of
/// `GlobalArgs`). `-v`/`-q` stay everywhere; `--sandbox-variant` also configures `dactl sandbox`.
const ORG_FLAGS: &[&str] = &[
    "environment",
    "profile",
    "sandbox",
    "request_timeout",
    "rate",
    "tokens",
    "concurrency",
    "dry_run",
    "no_canary",
    "journal",
    "plan_out",
    "report",
    "json",
    "module_path",
];

/// The global flags (field ids of `GlobalArgs`) that mean nothing to the subcommand `name`.
fn unused_flags(name: &str) -> Vec<&'static str> {
    match name {
        "sandbox" => ORG_FLAGS.to_vec(),
        "completions" | "man" | "definitions" => {
            let mut flags = ORG_FLAGS.to_vec();
            flags.push("sandbox_variant");
            flags
        }
        _ => Vec::new(),
    }
}

/// The command line as parsed, helped, completed and documented: `Cli`'s, with each global flag
/// hidden from the subcommands it means nothing to (see the module doc).
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        let copies: Vec<clap::Arg> = unused_flags(&name)
            .into_iter()
            .map(|id| {
                command
                    .get_arguments()
                    .find(|a| a.get_id() == id)
                    .unwrap_or_else(|| panic!("`{id}` is not a flag of GlobalArgs"))
                    .clone()
                    .hide(true)
            })
            .collect();
        if !copies.is_empty() {
            command = command.mut_subcommand(&name, |sub| sub.args(copies));
        }
    }
    command
}

/// The shell completions of the CLI for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut completion_command(), "dactl", &mut text);
    text
}

/// The CLI as completions see it. clap_complete's generators offer hidden arguments too, so the
/// hidden copies of `command()` would still be completed where they mean nothing; here each
/// global flag is instead copied by hand, not global, into the subcommands it means something
/// to, as clap would propagate it, so the flags completed are the flags `--help` lists.
fn completion_command() -> clap::Command {
    fn propagate(sub: clap::Command, globals: &[clap::Arg], skip: &[&str]) -> clap::Command {
        let skip: Vec<&str> = skip
            .iter()
            .copied()
            .chain(unused_flags(sub.get_name()))
            .collect();
        let copies = globals
            .iter()
            .filter(|a| !skip.contains(&a.get_id().as_str()))
            .cloned();
        sub.args(copies)
            .mut_subcommands(|nested| propagate(nested, globals, &skip))
    }
    let command = Cli::command();
    let globals: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().global(false))
        .collect();
    command
        .mut_args(|a| a.global(false))
        .mut_subcommands(|sub| propagate(sub, &globals, &[]))
}

/// The man page (roff) of `command()`, or with `path` (e.g. `["actions", "set-timeout"]`) of that
/// subcommand: the page the main page names `dactl-actions-set-timeout(1)`.
pub fn man_page(path: &[String]) -> Result<Vec<u8>, String> {
    // As clap_mangen's own `generate_to`: no `help` subcommand, which has no page of its own.
    let mut page = command().disable_help_subcommand(true);
    // Gives subcommands their page names (`dactl-run`).
    page.build();
    for (depth, name) in path.iter().enumerate() {
        let Some(sub) = page.find_subcommand(name).cloned() else {
            let known: Vec<&str> = page.get_subcommands().map(|c| c.get_name()).collect();
            let parent = ["dactl"]
                .into_iter()
                .chain(path[..depth].iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            return Err(if known.is_empty() {
                format!(
                    "`{parent}` has no commands, so there is no page for `{name}`; try `dactl man {}`.",
                    path[..depth].join(" ")
                )
            } else {
                format!(
                    "`{parent}` has no command `{name}`, so there is no page for it; it has: {}.",
                    known.join(", ")
                )
            });
        };
        page = sub;
    }
    let mut text = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("dactl {}", env!("CARGO_PKG_VERSION")))
        .render(&mut text)
        .map_err(|e| format!("the man page could not be made: {e}"))?;
    Ok(text)
}

/// Parses this process's arguments; a usage error (clap's, or a flag that means nothing to the
/// command) is printed and exits with code 2, as clap's own errors do.
pub fn parse() -> Cli {
    let mut command = command();
    let matches = command.get_matches_mut();
    if let Some((name, message)) = unused_flag_given(&command, &matches) {
        // The subcommand's usage line under the message, not the top level's.
        let kind = clap::error::ErrorKind::ArgumentConflict;
        let error = match command.find_subcommand_mut(&name) {
            Some(sub) => sub.error(kind, message),
            None => command.error(kind, message),
        };
        error.exit();
    }
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

/// A message naming the first flag typed that means nothing to the subcommand given.
fn unused_flag_given(command: &clap::Command, matches: &ArgMatches) -> Option<(String, String)> {
    let (name, sub) = matches.subcommand()?;
    let typed = |m: &ArgMatches, id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    let id = unused_flags(name)
        .into_iter()
        .find(|id| typed(matches, id) || typed(sub, id))?;
    let long = command
        .get_arguments()
        .find(|a| a.get_id() == id)
        .and_then(|a| a.get_long())
        .unwrap_or(id);
    let message = format!(
        "`--{long}` means nothing to `dactl {name}`; leave it out (`dactl {name} --help` lists \
         the flags it takes)"
    );
    Some((name.to_owned(), message))
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// List actions: id, name, category, kind, timeout (custom authentication actions included).
    ///
    /// A timeout shows `unset (60 s)` when the action has none: unset means 60 s, the maximum
    /// (Genesys' announcement of the timeout feature), so it is not "short". Function data
    /// actions show `-`: their own timeout is in their function settings, which `actions get`
    /// reads (unset there is 15 s).
    List {
        #[command(flatten)]
        filter: ActionFilter,
    },
    /// How actions executed over the last days, from the platform's analytics: executions,
    /// errors, executions cut at the timeout, p99, and the timeout the evidence suggests.
    ///
    /// Worst first: most timeouts, then the p99 closest to the timeout. P99 marked `~` is
    /// estimated from range counts (the platform gave none). SUGGESTED is 3 × p99 in whole
    /// seconds (at least the longest execution when any timed out), `-` under 50 executions.
    /// Reads only (about 2 analytics queries per 100 actions); needs the same permission as
    /// listing actions. Custom authentication actions are left out unless `--kind custom_auth`.
    Stats {
        /// The window: the last N days (1..=31).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=31))]
        days: u32,
        #[command(flatten)]
        filter: ActionFilter,
    },
    /// Show one action with its config and kind.
    Get {
        /// The action id.
        id: String,
    },
    /// Set the timeout of the actions named by id, or of a category, or of names matching.
    ///
    /// The same safe engine as scripts: journaled, concurrent, verified; `--dry-run` plans.
    /// Examples: `dactl actions set-timeout ID1 ID2 30`, `dactl actions set-timeout --category
    /// Billing 45s`.
    ///
    /// By `--category`/`--name`, actions with no timeout set are left alone and reported as
    /// skipped (unset means 60 s, the maximum, so setting one would lower it), unless
    /// `--include-unset`. Actions named by id are changed as asked, set or
    /// not. A filter that matches no action is an error (exit 1).
    SetTimeout {
        /// Action ids, then the timeout (`30`, `"30s"`, `"45000ms"`, `"1m"`).
        #[arg(required = true, value_name = "ID... TIMEOUT")]
        values: Vec<String>,
        /// Every action of this category (exact match) instead of ids.
        #[arg(long, value_parser = parse_category)]
        category: Option<String>,
        /// Every action whose name matches this instead of ids.
        #[arg(long, value_parser = parse_name)]
        name: Option<String>,
        /// With `--category`/`--name`: also set the actions that have no timeout set (refused
        /// with ids, which are changed whether set or not).
        #[arg(long)]
        include_unset: bool,
    },
}

/// Which actions `actions list` and `actions stats` take: all when no option is given.
#[derive(Debug, Clone, Args)]
pub struct ActionFilter {
    /// Only this category (exact match).
    #[arg(long, value_parser = parse_category)]
    pub category: Option<String>,
    /// Only names matching this (the API's name filter).
    #[arg(long, value_parser = parse_name)]
    pub name: Option<String>,
    /// Only this kind.
    #[arg(long, value_parser = ["standard", "static", "custom_auth", "function"])]
    pub kind: Option<String>,
}

fn parse_variant(text: &str) -> Result<String, String> {
    Variants::default().apply(text)?;
    Ok(text.trim().to_owned())
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not KEY=VALUE; write e.g. `--arg target=30`"
        )),
    }
}

/// A `--category` or `--name` filter. Blank is refused: the API's name filter is a partial
/// match, so an empty one matches every action, and a filter must never mean the whole org.
fn parse_filter(flag: &str, text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(format!(
            "an empty `{flag}` would match every action; give one (`dactl actions list` shows the \
             categories and names), or leave `{flag}` out"
        ));
    }
    Ok(text.to_owned())
}

fn parse_category(text: &str) -> Result<String, String> {
    parse_filter("--category", text)
}

fn parse_name(text: &str) -> Result<String, String> {
    parse_filter("--name", text)
}

#[cfg(test)]
mod tests {
    use super::sandbox::*;
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    /// What completions offer for each command is what its `--help` lists: the same visible
    /// flags, none of the hidden ones (clap_complete would offer hidden flags).
    #[test]
    fn completions_offer_the_flags_help_lists() {
        fn visible(command: &clap::Command) -> Vec<String> {
            let mut flags: Vec<String> = command
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect();
            flags.sort();
            flags
        }
        fn compare(help: &clap::Command, completed: &clap::Command, path: &str) {
            assert_eq!(visible(help), visible(completed), "{path}");
            for sub in help.get_subcommands() {
                let name = sub.get_name();
                if let Some(other) = completed.find_subcommand(name) {
                    compare(sub, other, &format!("{path} {name}"));
                }
            }
        }
        let mut help = command();
        help.build();
        let mut completed = completion_command();
        completed.build();
        compare(&help, &completed, "dactl");
        let sandbox = visible(completed.find_subcommand("sandbox").unwrap());
        assert!(sandbox.contains(&"listen".to_owned()), "{sandbox:?}");
        assert!(!sandbox.contains(&"dry-run".to_owned()), "{sandbox:?}");
        let set_timeout = completed
            .find_subcommand("actions")
            .and_then(|a| a.find_subcommand("set-timeout"))
            .unwrap();
        assert!(visible(set_timeout).contains(&"dry-run".to_owned()));
    }

    /// Each id in the table names a global flag (`command` panics on one that does not), and
    /// every subcommand that hides flags exists: a renamed subcommand would leave its flags shown.
    #[test]
    fn hidden_flags_name_real_flags_and_subcommands() {
        let command = command();
        for name in ["sandbox", "completions", "man", "definitions"] {
            let sub = command
                .find_subcommand(name)
                .unwrap_or_else(|| panic!("no subcommand `{name}`"));
            for id in unused_flags(name) {
                let arg = sub.get_arguments().find(|a| a.get_id() == id);
                assert!(
                    arg.is_some_and(|a| a.is_hide_set()),
                    "`{id}` not hidden in `{name}`"
                );
            }
        }
    }

    #[test]
    fn key_value_pairs() {
        assert_eq!(
            parse_key_value("a=b=c").unwrap(),
            ("a".into(), "b=c".into())
        );
        assert!(parse_key_value("novalue").is_err());
        assert!(parse_key_value("=x").is_err());
    }

    #[test]
    fn blank_filters_are_refused() {
        for blank in ["", "   "] {
            let error = parse_category(blank).unwrap_err();
            assert!(error.contains("`--category`"), "{error}");
            assert!(parse_name(blank).unwrap_err().contains("`--name`"));
        }
        assert_eq!(parse_name(" Order").unwrap(), " Order");
    }

    #[test]
    fn fractions_and_clients() {
        assert_eq!(parse_fraction("0.25").unwrap(), 0.25);
        assert!(parse_fraction("1.5").is_err());
        assert!(parse_client("id:").is_err());
        assert_eq!(parse_client("a:b:c").unwrap(), ("a".into(), "b:c".into()));
    }
}
