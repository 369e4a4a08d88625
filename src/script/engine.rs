//! The engine, set up once: limits, Ctrl-C, `print`, imports, and the host functions.
//!
//! Scripts reach nothing outside the host functions: Rhai itself has no file, process or network
//! access, and `eval` (which would bypass compile-time checks) is disabled. Imports read `.rhai`
//! files relative to the importing script's directory, and only inside the folders `imports`
//! allows (the script's own tree and `--module-path`).

use std::sync::atomic::Ordering;

use rhai::{Dynamic, Engine};

use super::functions;
use super::imports::Confined;
use super::state::Shared;

/// Operations a single entry or script may run: far above any real job (host functions count as
/// one each), low enough that an endless loop ends on its own.
pub const MAX_OPERATIONS: u64 = 200_000_000;
pub const MAX_CALL_LEVELS: usize = 64;
pub const MAX_STRING_SIZE: usize = 10 << 20;
pub const MAX_ARRAY_SIZE: usize = 1_000_000;
/// Rhai counts the keys of every map nested in a value together. Listed actions are not maps
/// (`values`), but a script may turn them into maps (`to_map()`, about 32 keys each with the
/// config): this allows that for far more than 10 000 actions.
pub const MAX_MAP_SIZE: usize = 10_000_000;

pub fn build(state: &Shared) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_module_resolver(Confined::new(state.import_roots.clone()))
        .disable_symbol("eval");

    let flag = state.interrupt.clone();
    engine.on_progress(move |_| {
        flag.load(Ordering::Relaxed)
            .then(|| Dynamic::from("interrupted"))
    });

    let printer_state = state.clone();
    engine.on_print(move |text| printer_state.print(text));
    let debug_state = state.clone();
    engine.on_debug(move |text, _source, pos| {
        debug_state.printer.info(&format!("[debug {pos}] {text}"))
    });

    engine.set_default_tag(Dynamic::from(state.clone()));
    super::values::register(&mut engine);
    functions::register(&mut engine);
    engine
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::change::{ActionInfo, Kind};
    use crate::output::Printer;
    use crate::script::Host;
    use crate::script::values::ScriptAction;

    /// Rhai counts the strings of every map nested in a value against its string limit, all
    /// together: a listing of 100 000 actions as maps failed for it. Actions are not maps, so
    /// they are not counted; the same listing as maps still is.
    #[test]
    fn a_listing_is_not_held_to_the_string_limit() {
        let mut host = Host::offline(Printer::default());
        let template = "x".repeat(64 << 10);
        let all: rhai::Array = (0..200)
            .map(|n| {
                let action = serde_json::json!({"id": format!("a{n}"), "version": 1,
                    "config": {"request": {"requestTemplate": template}}});
                let info = ActionInfo {
                    action: serde_json::from_value(action).unwrap(),
                    kind: Kind::Standard,
                    function_timeout: None,
                };
                rhai::Dynamic::from(ScriptAction(Arc::new(info)))
            })
            .collect();
        // 200 configs of 64 KiB: over the 10 MiB limit together.
        assert!(200 * template.len() > super::MAX_STRING_SIZE);
        host.scope.push("all", all);
        let kept = host
            .eval("all.filter(|a| a.kind == \"standard\").len()")
            .unwrap_or_else(|e| panic!("{}", e.rendered));
        assert_eq!(kept.as_int().unwrap(), 200);
        let maps = host
            .eval("all.map(|a| a.to_map()).len()")
            .expect_err("maps are held to the limit");
        assert!(
            maps.rendered.contains("Length of string"),
            "{}",
            maps.rendered
        );
    }

    /// Rhai counts every nested key of a value together: 10 000 listed actions of about 32 keys
    /// each must fit (they did not under a limit of 100 000).
    #[test]
    fn a_listing_of_ten_thousand_actions_fits_the_map_limit() {
        let mut host = Host::offline(Printer::default());
        let keys: Vec<String> = (0..32).map(|k| format!("k{k}: {k}")).collect();
        let script = format!(
            "let all = []; all.pad(10000, #{{ {} }}); all.len()",
            keys.join(", ")
        );
        let n = host
            .eval(&script)
            .unwrap_or_else(|e| panic!("{}", e.rendered));
        assert_eq!(n.as_int().unwrap(), 10_000);
    }
}
