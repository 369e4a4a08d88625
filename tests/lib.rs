//! The one integration-test binary; each area adds a module.

mod repl;
mod script;
