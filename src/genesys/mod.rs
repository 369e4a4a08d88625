//! The Genesys Cloud client: async, knows nothing of Rhai or of timeout policy.
//!
//! Layers, top to bottom: `actions` and `integrations` endpoints ("what you can do"), `models`
//! ("what comes back"; `compact`: actions as they are held by the thousand), and one `send` path
//! in `client` that every call goes through (base URL, concurrency limit, a token from the pool,
//! retry policy, error-body parsing). `region` turns what the user typed into a `Target`; `auth`
//! mints tokens; `pool` holds them, each with its own rate limit and 429 pause, and picks the
//! token for each request; `retry` is the retry policy as a value.

pub mod actions;
pub mod analytics;
mod auth;
pub mod client;
pub mod compact;
pub mod error;
pub mod integrations;
pub mod models;
mod pool;
pub mod region;
pub mod retry;

pub use client::{ActionQuery, Client, ClientOptions, Credentials, RetryPolicy};
pub use error::Error;
pub use pool::{GROWTH_HOLD_OFF, MAX_TOKENS};
pub use region::{REGIONS, RegionError, Target};
