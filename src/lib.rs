//! dactl: scriptable, safe bulk changes to Genesys Cloud Data Action timeouts.
//!
//! The path of data, top to bottom: `cli` → `script` (Rhai host) → `change` (plan, apply,
//! verify, journal) → `genesys` (auth, rate limit, retry, HTTP) → Genesys Cloud or `sandbox`.
//! See ARCHITECTURE.md.

pub mod app;
pub mod change;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod genesys;
pub mod output;
pub mod platform;
pub mod repl;
pub mod report;
pub mod run_files;
pub mod sandbox;
pub mod script;
pub mod secret;
pub mod session;
