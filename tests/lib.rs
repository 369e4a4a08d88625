//! The one integration test binary: every area adds `mod <area>;` here.

mod client;
mod config;
