//! The REPL core fed lines in-process, and the real binary driven in a pseudo-terminal.

use dactl::output::Printer;
use dactl::repl::{ReplCore, input};
use dactl::script::Host;

use crate::script::host;
use crate::support::{TempDir, dactl_cmd, scratch, temp_dir};

fn offline_core() -> ReplCore {
    let host = Host::offline(Printer::default());
    host.capture_prints(true);
    ReplCore::new(host)
}

#[test]
fn tab_completes_host_functions_keywords_and_variables() {
    let mut core = offline_core();
    assert_eq!(
        core.complete("fetch_a", 7),
        (0, vec!["fetch_action".to_owned()])
    );
    let (start, found) = core.complete("let x = update_t", 16);
    assert_eq!(start, 8);
    assert_eq!(found, ["update_timeout", "update_timeouts"]);
    assert!(core.complete("whi", 3).1.contains(&"while".to_owned()));
    core.handle("let threshold_seconds = 10;");
    assert_eq!(core.complete("print(thresh", 12).1, ["threshold_seconds"]);
    assert_eq!(core.complete(":he", 3).1, [":help"]);
    assert_eq!(
        core.complete(":help upd", 9),
        (
            6,
            vec!["update_timeout".to_owned(), "update_timeouts".to_owned()]
        )
    );
    assert_eq!(
        core.complete("a.timeout_s", 11),
        (2, vec!["timeout_seconds".to_owned()])
    );
    assert!(core.handle(":help ARGS").output.contains("--arg key=value"));
    assert_eq!(
        core.hint("fetch_a", 7).as_deref(),
        Some("ction(action_or_id)")
    );
}

#[test]
fn tab_completes_action_ids_and_names_seen_earlier() {
    let mut core = ReplCore::new(host());
    let reply = core.handle("let all = list_actions(); all[0].id");
    assert!(reply.error.is_empty(), "{}", reply.error);
    let id = reply.output.trim().trim_matches('"').to_owned();
    let line = format!("fetch_action(\"{}", &id[..3]);
    let (start, found) = core.complete(&line, line.len());
    assert_eq!(start, "fetch_action(\"".len());
    assert!(found.contains(&id), "{found:?}");
}

#[test]
fn input_continues_while_brackets_or_strings_are_open() {
    assert!(input::is_incomplete("fn raise(a) {"));
    assert!(input::is_incomplete(
        "fn raise(a) {\n  if a.timeout_seconds < 10 {"
    ));
    assert!(!input::is_incomplete("fn raise(a) {\n  a\n}"));
    assert!(input::is_incomplete("let s = `multi\nline"));
    let mut core = offline_core();
    let reply = core.handle("fn raise(x) {\n  x + 1\n}");
    assert!(reply.error.is_empty(), "{}", reply.error);
    assert_eq!(core.handle("raise(41)").output, "42");
}

#[test]
fn help_lists_every_function_and_explains_one() {
    let mut core = offline_core();
    let help = core.handle(":help").output;
    for doc in core.host().function_docs() {
        assert!(
            help.contains(&doc.name),
            "`{}` missing from :help",
            doc.name
        );
    }
    for name in [
        "auth",
        "fetch_action",
        "list_actions",
        "update_timeout",
        "update_timeouts",
        "verify",
        "backoff",
        "dry_run",
        "ARGS",
        ":save",
    ] {
        assert!(help.contains(name), "{name} missing:\n{help}");
    }
    let one = core.handle(":help update_timeout").output;
    assert!(
        one.starts_with("update_timeout(action_or_id, timeout) -> change"),
        "{one}"
    );
    assert!(one.contains("Example:"), "{one}");
    let missing = core.handle(":help nope");
    assert!(missing.error.contains("`nope`"), "{missing:?}");
    assert!(core.handle(":frobnicate").error.contains("`:frobnicate`"));
}

#[test]
fn vars_shows_variables_and_functions_defined_so_far() {
    let mut core = offline_core();
    core.handle("let target = 30;");
    core.handle("fn pick(a) { a }");
    let vars = core.handle(":vars").output;
    assert!(vars.contains("let target = 30"), "{vars}");
    assert!(vars.contains("fn pick"), "{vars}");
    assert!(vars.contains("const ARGS"), "{vars}");
}

#[test]
fn save_writes_successful_entries_and_load_runs_them_again() {
    let dir = temp_dir("save");
    let file = dir.join("session.rhai");
    let mut core = offline_core();
    core.handle("let base = 20");
    assert!(!core.handle("let broken = nope();").error.is_empty());
    core.handle("fn bump(x) {\n  x + 2\n}");
    core.handle("print(bump(base))");
    let saved = core.handle(&format!(":save {}", file.display()));
    assert!(saved.output.contains("Saved 3 entries"), "{saved:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("broken"), "{text}");

    let mut fresh = offline_core();
    let loaded = fresh.handle(&format!(":load {}", file.display()));
    assert!(loaded.error.is_empty(), "{loaded:?}");
    assert!(loaded.output.starts_with("22\n"), "{loaded:?}");
    assert_eq!(fresh.handle("bump(base)").output, "22");
}

#[test]
fn values_print_as_tables_and_summaries() {
    let mut core = ReplCore::new(host());
    let table = core.handle("list_actions()").output;
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert!(table.trim_end().ends_with("actions"), "{table}");
    let summary = core
        .handle("update_timeouts(list_actions().filter(|a| a.kind != \"standard\"), 30)")
        .output;
    assert!(summary.contains("skipped"), "{summary}");
    // `:dry-run on` reaches the session: the change is planned, not written (a command that
    // only echoed `on`, or a session that ignored it, would write the 59 s below).
    let dry = core.handle(":dry-run on");
    assert!(dry.error.is_empty(), "{dry:?}");
    assert_eq!(
        dry.output,
        "dry run is on: changes are planned, nothing is written"
    );
    assert_eq!(core.handle(":dry-run").output, "dry run is on");
    assert_eq!(core.handle("dry_run()").output, "true");
    let at_59 = "list_actions().filter(|a| a.timeout_seconds == 59).len()";
    let before = core.handle(at_59).output;
    let planned = core
        .handle("update_timeouts(list_actions().filter(|a| a.kind == \"standard\"), 59)")
        .output;
    assert!(
        planned.contains("planned") && !planned.contains("updated"),
        "{planned}"
    );
    assert_eq!(core.handle(at_59).output, before, "a dry run wrote");
    assert_eq!(
        core.handle(":dry-run off").output,
        "dry run is off: changes are written"
    );
    assert_eq!(core.handle("dry_run()").output, "false");
    assert!(core.handle(":quit").quit);
}

// -- The real binary in a pseudo-terminal ----------------------------------------------------
//
// These need the CLI wiring (`dactl --sandbox repl`) from main.

/// The REPL in a pseudo-terminal, with its data (history) in a fresh folder that lives as long as
/// the returned value.
fn spawn_repl() -> (rexpect::session::PtySession, TempDir) {
    let data = temp_dir("pty-data");
    (spawn_repl_with(&data), data)
}

fn spawn_repl_with(data: &std::path::Path) -> rexpect::session::PtySession {
    let mut command = dactl_cmd();
    command
        .args(["--sandbox", "repl"])
        .env("XDG_DATA_HOME", data)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut p =
        rexpect::session::spawn_command(command, Some(20_000)).expect("dactl starts in a pty");
    p.exp_string("dactl> ").expect("the prompt");
    p
}

#[test]
fn pty_tab_completes_fetch_a() {
    let (mut p, _data) = spawn_repl();
    p.send("fetch_a").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("ction")
        .expect("Tab completes to fetch_action");
    p.send_line("(\"no-such-action\")").unwrap();
    // Only the completed name reaches the API: `fetch_a(...)` would be "function not found".
    p.exp_string("status 404")
        .expect("the 404 error of fetch_action");
    p.exp_string("dactl> ").unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn pty_function_over_three_lines_then_called() {
    let (mut p, _data) = spawn_repl();
    p.send_line("fn add_ten(x) {").unwrap();
    p.send_line("  x + 10").unwrap();
    p.send_line("}").unwrap();
    p.exp_string("dactl> ").unwrap();
    p.send_line("add_ten(32)").unwrap();
    p.exp_string("42").expect("the function ran");
    p.exp_string("dactl> ").unwrap();
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
}

/// Ctrl-C is sent once the loop has said it started (not after a sleep): sent while the line
/// editor still held the terminal, it would be a keypress at the next prompt, not a signal.
#[test]
fn pty_ctrl_c_stops_a_long_loop_and_the_prompt_returns() {
    let (mut p, _data) = spawn_repl();
    // The echo of the typed line shows `"loop" + "ing"`; only the running entry prints `looping`.
    p.send_line("print(\"loop\" + \"ing\"); let n = 0; loop { n += 1; }")
        .unwrap();
    p.exp_string("looping").expect("the loop started");
    p.send_control('c').unwrap();
    p.exp_string("Interrupted").expect("the loop stops");
    p.exp_string("dactl> ").unwrap();
    p.send_line("n > 0").unwrap();
    p.exp_string("true")
        .expect("the REPL survived with its variables");
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn pty_history_is_kept_across_sessions() {
    let data = temp_dir("pty-history");
    let mut p = spawn_repl_with(&data);
    p.send_line("let remembered_value = 7").unwrap();
    p.exp_string("dactl> ").unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    let saved = std::fs::read_to_string(data.join("dactl/history.txt")).expect("history file");
    assert!(saved.contains("let remembered_value = 7"), "{saved}");

    let mut p = spawn_repl_with(&data);
    p.send_control('p').unwrap(); // the previous history entry, like Up
    p.exp_string("remembered_value")
        .expect("the entry is recalled");
    p.send_line("").unwrap();
    p.exp_string("dactl> ").unwrap();
    p.send_line("remembered_value * 6").unwrap();
    p.exp_string("42")
        .expect("the entry from the last session ran again");
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

/// Run `dactl --sandbox -v actions list` in a pty, with or without `NO_COLOR`; returns all it
/// printed (stdout and stderr share the terminal).
fn in_a_terminal(no_colour: bool) -> String {
    let mut command = dactl_cmd();
    command
        .args(["--sandbox", "-v", "actions", "list"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR");
    if no_colour {
        command.env("NO_COLOR", "1");
    }
    let mut p = rexpect::session::spawn_command(command, Some(20_000)).expect("dactl starts");
    p.exp_eof().expect("dactl ends")
}

/// Whether `text` holds a colour (an SGR escape, `ESC [ ... m`); the spinner's line clearing
/// (`ESC [ 2K`) is not colour.
fn coloured(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        end.is_some_and(|end| rest[end..].starts_with('m'))
    })
}

/// On a terminal the diagnostics of `-v` are coloured; with `NO_COLOR` set nothing is, and the
/// output is otherwise the same listing.
#[test]
fn pty_colour_only_without_no_color() {
    assert!(coloured("a \x1b[1;33mwarning\x1b[0m") && !coloured("\r\x1b[2K id"));
    let with_colour = in_a_terminal(false);
    assert!(
        coloured(&with_colour),
        "no colour on a terminal: {with_colour:?}"
    );
    let plain = in_a_terminal(true);
    assert!(!coloured(&plain), "colour despite NO_COLOR: {plain:?}");
    // The listing is there (cells wrap to the terminal's width, so one word of a name).
    assert!(plain.contains("Lookup"), "{plain}");
}

/// `dactl repl` fed `input` on a pipe, against `org`, journaling to `journal`.
fn piped_repl(
    org: &crate::support::Org,
    journal: &std::path::Path,
    input: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = crate::support::dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "100000"])
        .args(["--journal", journal.to_str().unwrap(), "repl"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Entries fed on a pipe are a script: the first error ends the session with exit code 1 (the
/// entries after it never run), as `dactl run` ends at a script's error.
#[test]
fn piped_repl_input_stops_at_the_first_error_with_exit_1() {
    let org = crate::support::Org::seed();
    let journal = scratch("repl-piped.jsonl");
    let out = piped_repl(
        &org,
        &journal,
        "let n = 40;\nthrow \"stop here\";\nprint(\"after the throw\");\n",
    );
    let (stdout, stderr) = (crate::support::stdout(&out), crate::support::stderr(&out));
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.contains("stop here"), "{stderr}");
    assert!(!stdout.contains("after the throw"), "{stdout}");

    // Without an error the pipe runs to its end and exits 0.
    let out = piped_repl(&org, &journal, "let n = 40;\nprint(n + 2);\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    assert!(crate::support::stdout(&out).contains("42"));
}

/// The first entry that writes says where the journal is, once, as `dactl run` ends with it;
/// entries that write nothing do not.
#[test]
fn the_repl_says_where_its_journal_is_when_it_first_writes() {
    let org = crate::support::Org::seed();
    let journal = scratch("repl-journal.jsonl");
    let pick = "list_actions().filter(|a| a.kind == \"standard\" && a.timeout_seconds != () && a.timeout_seconds != 33)";
    let input = format!(
        "let todo = {pick};\nlet first = update_timeout(todo[0], 33);\nprint(\"between\");\nlet second = update_timeout(todo[1], 33);\nfirst.status\n"
    );
    let out = piped_repl(&org, &journal, &input);
    let stderr = crate::support::stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(crate::support::stdout(&out).contains("updated"));
    let said = format!("journal: {}", journal.display());
    assert_eq!(stderr.matches(&said).count(), 1, "{stderr}");
    assert_eq!(stderr.matches("journal: ").count(), 1, "{stderr}");
    // Two writes, said once.
    let lines = crate::support::lines(&journal);
    assert_eq!(lines.iter().filter(|l| l["kind"] == "intent").count(), 2);

    // A session that writes nothing names no journal.
    let out = piped_repl(
        &org,
        &scratch("repl-no-journal.jsonl"),
        "list_actions().len()\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!crate::support::stderr(&out).contains("journal: "));
}
