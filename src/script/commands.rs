//! The script commands: `dactl run FILE`, `dactl eval EXPR` (one end of run for both: the
//! report, the canary and journal lines, the exit code) and `dactl check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rhai::Dynamic;

use super::imports::ModulePaths;
use crate::output::Printer;

use super::*;
use crate::report::values as render;

/// `dactl run FILE`: runs the script with `ARGS`, prints errors, and returns the exit code
/// (0 success, 1 script error, 130 interrupted by Ctrl-C).
pub fn run(host: &mut Host, path: &Path, args: BTreeMap<String, String>) -> u8 {
    host.set_args(args);
    let _ = install_ctrl_c(host.interrupt_flag());
    let outcome = host.run_file(path).map(drop);
    end_of_run(host, outcome)
}

/// `dactl eval 'EXPR'`: a run whose script is one expression. Its value is printed as a last
/// `print` would be (a string bare, actions as a table, JSON with `--json`), except a change or a
/// list of changes: that is what the run's report shows, so it is shown there, once. Then the end
/// of any run (`end_of_run`): the same report, canary, journal and exit code as `run`.
pub fn eval(host: &mut Host, source: &str) -> u8 {
    let _ = install_ctrl_c(host.interrupt_flag());
    let outcome = host
        .eval_named("<eval>", source)
        .map(|value| show_value(host, &value));
    end_of_run(host, outcome)
}

/// The value of `dactl eval` on stdout, unless it is changes (see `eval`).
pub(super) fn show_value(host: &Host, value: &Dynamic) {
    let printer = host.printer();
    if is_changes(value) {
        return;
    }
    if printer.json {
        printer.json(&render::json(value));
    } else if value.is_string() {
        // Bare, so that `$(dactl eval ...)` in a shell gets the text itself.
        printer.data(&value.to_string());
    } else if let Some(text) = render::value(value, printer.layout(crate::output::Stream::Stdout)) {
        printer.data(&text);
    }
}

/// Whether the value is changes this run made: a change, or a list of them (what
/// `update_timeout(s)` returned), which the run's report lists. A map, even a copy of a change
/// (`c.to_map()`), is a value of the script's own.
pub(super) fn is_changes(value: &Dynamic) -> bool {
    value.is::<values::ScriptChange>()
        || value.read_lock::<rhai::Array>().is_some_and(|list| {
            !list.is_empty() && list.iter().all(|v| v.is::<values::ScriptChange>())
        })
}

/// The end of every script run (`run`, `eval`): what the script held is let go, the report of
/// its changes printed (`report`), its error shown. Exit code: the script's error (1, or 130 when
/// interrupted), else 1 when a change failed, else 0.
pub(super) fn end_of_run(host: &mut Host, outcome: Result<(), ScriptError>) -> u8 {
    // The script is over: what it held (every action it listed, its changes) goes before the
    // report is drawn from the session's own record.
    host.scope.clear();
    let failed_changes = report(host);
    match outcome {
        Ok(()) if failed_changes > 0 => EXIT_FAILURE,
        Ok(()) => EXIT_SUCCESS,
        Err(e) => fail(&e),
    }
}

/// The end of a run that changed or planned anything: the report (plan, counts, reasons), the
/// canary and the journal's path, on stderr. Returns how many changes failed.
pub(super) fn report(host: &Host) -> usize {
    let changes = host.all_changes();
    let journal = host.with_session(|s| s.journal_path()).flatten();
    if changes.is_empty() {
        return 0;
    }
    let report = crate::report::Report { changes: &changes };
    host.printer().info(&report.render(host.printer()));
    if let Some(canary) = host.with_session(|s| s.canary()).flatten() {
        host.printer().info(&canary.to_string());
    }
    if let Some(path) = journal {
        host.printer().info(&format!("journal: {}", path.display()));
    }
    report.failed()
}

/// `dactl check FILE...`: compiles each file and its imports without running anything, under the
/// same import rule as a run (`modules`: the `--module-path` folders); prints every error,
/// returns 1 when any file failed.
pub fn check(paths: &[PathBuf], modules: ModulePaths, printer: &Printer) -> u8 {
    let mut host = Host::offline(printer.clone());
    host.set_module_paths(modules);
    let mut failed = 0;
    for path in paths {
        match host.check_file(path) {
            Ok(()) => printer.info(&format!("ok: {}", path.display())),
            Err(e) => {
                failed += 1;
                crate::output::text(&e.rendered);
            }
        }
    }
    if failed > 0 {
        let plural = if failed == 1 { "script" } else { "scripts" };
        crate::output::error(format!("{failed} {plural} failed the check."));
        EXIT_FAILURE
    } else {
        EXIT_SUCCESS
    }
}

pub(super) fn fail(error: &ScriptError) -> u8 {
    crate::output::text(&error.rendered);
    if error.interrupted {
        EXIT_INTERRUPTED
    } else {
        EXIT_FAILURE
    }
}

/// Points SIGINT (Ctrl-C) at `flag` for the rest of the process: a running script stops at its
/// next operation instead of the process dying mid-write. Only the first call installs the
/// handler; later hosts share it through the same flag slot.
pub fn install_ctrl_c(flag: Arc<AtomicBool>) -> Result<(), String> {
    use std::sync::Mutex;
    static TARGET: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    *TARGET.lock().unwrap_or_else(|e| e.into_inner()) = Some(flag);
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        result = ctrlc::set_handler(|| {
            if let Some(flag) = TARGET.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                flag.store(true, Ordering::Relaxed);
            }
        })
        .map_err(|e| e.to_string());
    });
    result
}
