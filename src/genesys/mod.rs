//! The Genesys Cloud client: async, knows nothing of Rhai or of timeout policy.
//!
//! Layers, top to bottom: `actions` and `integrations` endpoints ("what you can do"), `models`
//! ("what comes back"), and one `send` path in `client` that every call goes through (base URL,
//! token, rate limiter, concurrency limit, retry policy, error-body parsing). `region` turns what
//! the user typed into a `Target`; `auth` mints and caches tokens; `limiter` spaces requests and
//! holds the whole client after a 429; `retry` is the retry policy as a value.

pub mod actions;
mod auth;
pub mod client;
pub mod error;
pub mod integrations;
mod limiter;
pub mod models;
pub mod region;
pub mod retry;

pub use client::{ActionQuery, Client, ClientOptions, Credentials, RetryPolicy};
pub use error::Error;
pub use region::{REGIONS, RegionError, Target};
