//! One integration test binary; each area adds its module here.

mod client;
mod config;
mod sandbox;
