//! All integration tests, in one binary. Every test talks to a sandbox over real HTTP on
//! 127.0.0.1; none needs credentials or the network.

mod bulk;
mod change;
mod cli;
mod client;
mod config;
mod filters;
mod hostile;
mod reliability;
mod repl;
mod sandbox;
mod script;
mod session;
mod support;
mod unset;
