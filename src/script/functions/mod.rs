//! Host functions, one `#[export_module]` module per topic. Their doc comments are the
//! documentation: `Host::function_docs` reads them back from the engine's metadata for `:help`,
//! and README lists the same functions (a test checks it). The first line of each doc comment is
//! the one-line summary; an `Example:` section follows.

pub mod actions;
pub mod auth;
pub mod changes;
pub mod retry;
pub mod stats;

use rhai::Engine;
use rhai::plugin::*;

/// Registers every host-function module into the engine's global namespace.
pub fn register(engine: &mut Engine) {
    engine.register_global_module(exported_module!(auth::auth_functions).into());
    engine.register_global_module(exported_module!(actions::action_functions).into());
    engine.register_global_module(exported_module!(changes::change_functions).into());
    engine.register_global_module(exported_module!(retry::retry_functions).into());
    engine.register_global_module(exported_module!(stats::stats_functions).into());
}
