//! The one integration test binary: every area adds `mod <area>;` here.

mod change;
mod client;
mod config;
mod repl;
mod sandbox;
mod script;
mod session;
