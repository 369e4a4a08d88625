//! Around the binary, for the people who install and script it: editor definitions, the man page,
//! completions and the man page into a pipe closed early, and `--help` that lists only the flags a
//! command uses.

use std::path::Path;
use std::process::{Output, Stdio};

use dactl::output::Printer;
use dactl::script::Host;
use serde_json::Value;

use crate::support::{assert_code, dactl_cmd, path, stderr, stdout, temp_dir};

fn dactl(args: &[&str]) -> Output {
    dactl_cmd().args(args).output().unwrap()
}

/// The text of every `*.d.rhai` file in `dir`.
fn definition_files(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().path();
        if file.to_string_lossy().ends_with(".d.rhai") {
            text.push_str(&std::fs::read_to_string(&file).unwrap());
            text.push('\n');
        }
    }
    text
}

/// Every host function, from the metadata of the engine `dactl run` builds (not a list kept
/// here): a function added without a doc comment, or left out of the definitions, fails this.
/// Fails too when `dactl definitions` builds another engine (a bare one lists no host function),
/// writes a function without its doc comment or with other parameters, declares a return type
/// as Rust's `Result<...>` instead of what a script gets, or leaves out `ARGS`.
#[test]
fn definitions_declare_every_host_function_with_its_doc_comment() {
    // A folder that does not exist yet, two levels down: it is created.
    let root = temp_dir("definitions");
    let dir = root.join("repo/.dactl/definitions");
    let out = dactl(&["definitions", path(&dir)]);
    assert_code(&out, 0);
    assert!(stderr(&out).contains(path(&dir)), "{}", stderr(&out));
    let text = definition_files(&dir);

    let host = Host::offline(Printer::default());
    let metadata: Value =
        serde_json::from_str(&host.engine().gen_fn_metadata_to_json(false).unwrap()).unwrap();
    let functions = metadata["functions"].as_array().unwrap();
    let names: Vec<&str> = functions
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    // The metadata read is the host's: the functions the brief names are in it.
    for name in [
        "fetch_action",
        "update_timeouts",
        "list_actions",
        "verify",
        "get$timeout_seconds",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    for function in functions {
        let name = function["name"].as_str().unwrap();
        let params: Vec<&str> = function["params"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let comments: Vec<&str> = function["docComments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(
            !comments.is_empty()
                && comments
                    .iter()
                    .all(|c| !c.trim_start_matches('/').trim().is_empty()),
            "the host function `{name}({})` has no doc comment: editors (and `:help`) would \
             show it bare; document it where it is defined, in src/script/functions/",
            params.join(", ")
        );
        // Rhai writes a property's getter `fn get id(...)`, its setter `fn set id(...)`, and an
        // operator `op ==(action, action)` (types only, so its parameters are counted).
        let operator = !name.contains('$') && !name.starts_with(|c: char| c.is_alphabetic());
        let head = match (name.strip_prefix("get$"), name.strip_prefix("set$")) {
            (Some(field), _) => format!("fn get {field}("),
            (_, Some(field)) => format!("fn set {field}("),
            _ if operator => format!("op {name}("),
            _ => format!("fn {name}("),
        };
        // The doc comment, then the declaration of this overload (its parameters in order).
        let declared = text
            .match_indices(&format!("{}\n{head}", comments.join("\n")))
            .map(|(at, found)| &text[at + found.len()..])
            .map(|rest| rest.lines().next().unwrap())
            .find(|line| {
                let (list, _) = line.split_once(')').unwrap();
                let declared: Vec<&str> = list
                    .split(", ")
                    .filter(|p| !p.is_empty())
                    .map(|p| p.split(':').next().unwrap().trim())
                    .collect();
                if operator {
                    declared.len() == params.len()
                } else {
                    declared == params
                }
            })
            .unwrap_or_else(|| {
                panic!(
                    "`{name}({})` is not declared after its doc comment in {}",
                    params.join(", "),
                    dir.display()
                )
            });
        let returns = declared
            .split(") -> ")
            .nth(1)
            .unwrap()
            .trim_end_matches(';');
        assert!(
            !returns.contains('<') && !returns.contains("Result"),
            "`{name}` is declared returning `{returns}`: a script gets the value, not a Rust type"
        );
    }
    assert!(text.contains("const ARGS: map;"), "no ARGS in {text}");
    // The standard library is there too, or an editor would flag `print` as unknown.
    assert!(
        text.contains("fn print("),
        "no `print` in {}",
        dir.display()
    );
}

/// A DIR that cannot be a folder fails (exit 1) naming it and what is in the way; nothing is
/// written. Fails when the error is swallowed (exit 0), when the message names another path, or
/// when it does not say that a file is in the way.
#[test]
fn definitions_into_a_path_that_cannot_be_a_folder_fail_naming_it() {
    let base = temp_dir("definitions-bad");
    let file = base.join("notes.txt");
    std::fs::write(&file, "a file, not a folder").unwrap();
    let under = file.join("defs");
    for (dir, in_the_way) in [(&under, &file), (&file, &file)] {
        let out = dactl(&["definitions", path(dir)]);
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(err.contains(&format!("`{}`", dir.display())), "{err}");
        assert!(
            err.contains(&format!(
                "`{}` is a file, not a folder",
                in_the_way.display()
            )),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a file, not a folder"
    );
}

/// The visible subcommands of the CLI, from the command itself.
fn subcommands() -> Vec<String> {
    dactl::cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// `dactl man` is a roff page titled `dactl`, section 1 (its first request after clap_mangen's
/// two-line quote preamble), that names every subcommand; `dactl man run` is the page it names
/// for `run`. Fails on an empty page, a page of another command, one that lost a subcommand, or a
/// subcommand page under the wrong name.
#[test]
fn man_prints_a_roff_page_naming_every_subcommand() {
    let out = dactl(&["man"]);
    assert_code(&out, 0);
    let page = stdout(&out);
    let first = page
        .lines()
        .find(|l| l.starts_with('.') && !l.starts_with(".ie") && !l.starts_with(".el"))
        .unwrap();
    assert!(first.starts_with(".TH dactl 1 "), "{first}");
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    let names = subcommands();
    assert!(names.len() >= 12, "{names:?}");
    for name in names.iter().filter(|n| *n != "help") {
        assert!(
            page.contains(&format!("dactl\\-{}(1)", name.replace('-', "\\-"))),
            "the man page does not name `{name}`"
        );
    }

    let out = dactl(&["man", "actions", "set-timeout"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains(".TH dactl-actions-set-timeout 1 "),
        "{}",
        stdout(&out)
    );
    let out = dactl(&["man", "actions", "nope"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("`nope`"), "{}", stderr(&out));
    assert!(stderr(&out).contains("set-timeout"), "{}", stderr(&out));
}

/// `dactl completions bash | head -1` and `dactl man | head -1`: the reader closing the pipe is
/// success, not a panic. The pipe here is closed before dactl starts, so its first write meets a
/// closed pipe every time. Fails when a write error on stdout panics (exit 101, "panicked"), or
/// when a broken pipe is reported as an error.
#[test]
fn output_into_a_closed_pipe_is_success() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["man"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = dactl_cmd()
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// The flags of runs and connections are not listed by commands they mean nothing to, and are
/// refused there; the commands that use them still list and take them, before or after the
/// command's name. Fails when the flags show in `sandbox --help` (the globals as they were), when
/// they vanish from `run --help` (hidden everywhere), when `sandbox --dry-run` is silently
/// accepted, or when a global flag typed after `eval` stops reaching it.
#[test]
fn help_lists_only_the_flags_a_command_uses() {
    let unused = ["--dry-run", "--journal", "--plan-out", "--rate "];
    for command in ["sandbox", "completions", "man", "definitions"] {
        let out = dactl(&[command, "--help"]);
        assert_code(&out, 0);
        let help = stdout(&out);
        assert!(help.contains("--quiet"), "{command}: {help}");
        for flag in unused {
            assert!(
                !help.contains(flag),
                "`dactl {command} --help` lists {flag}:\n{help}"
            );
        }
    }
    let sandbox = stdout(&dactl(&["sandbox", "--help"]));
    for flag in ["--sandbox-variant", "--listen", "--templates"] {
        assert!(sandbox.contains(flag), "{flag} missing:\n{sandbox}");
    }
    let run = stdout(&dactl(&["run", "--help"]));
    for flag in unused.iter().chain(&["--module-path", "--environment"]) {
        assert!(
            run.contains(flag),
            "`dactl run --help` lacks {flag}:\n{run}"
        );
    }

    // Completions follow the help: fish offers `--listen` for `sandbox`, never `--dry-run`.
    let fish = stdout(&dactl(&["completions", "fish"]));
    let sandbox_lines: Vec<&str> = fish
        .lines()
        .filter(|l| l.contains("__fish_dactl_using_subcommand sandbox\""))
        .collect();
    assert!(
        sandbox_lines.iter().any(|l| l.contains("-l listen")),
        "{fish}"
    );
    assert!(
        !sandbox_lines.iter().any(|l| l.contains("-l dry-run")),
        "{fish}"
    );

    // Refused where it means nothing, before or after the command's name.
    for args in [
        &["sandbox", "--dry-run"][..],
        &["--dry-run", "sandbox"],
        &["--journal", "j.jsonl", "completions", "bash"],
    ] {
        let out = dactl(args);
        assert_code(&out, 2);
        let flag = args.iter().find(|a| a.starts_with("--")).unwrap();
        let command = if args.contains(&"sandbox") {
            "sandbox"
        } else {
            "completions"
        };
        let err = stderr(&out);
        assert!(
            err.contains(&format!("`{flag}` means nothing to `dactl {command}`")),
            "{args:?}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }

    // Still global where it means something: before and after the command's name.
    for args in [
        &["--sandbox", "--dry-run", "eval", "dry_run()"][..],
        &["--sandbox", "eval", "dry_run()", "--dry-run"],
    ] {
        let out = dactl(args);
        assert_code(&out, 0);
        assert_eq!(stdout(&out).trim(), "true", "{args:?}");
    }
    let out = dactl(&["--sandbox", "eval", "dry_run()"]);
    assert_eq!(stdout(&out).trim(), "false");
}
