//! The sandbox: an axum emulator of the Genesys Cloud endpoints dactl uses.

use std::net::SocketAddr;

use url::Url;

/// The default client of every sandbox: `sandbox:sandbox`.
pub const DEFAULT_CLIENT_ID: &str = "sandbox";
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox";

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub listen: SocketAddr,
    /// `None`: the hand-written seed org (about 40 actions); `Some(n)`: n generated actions.
    pub actions: Option<usize>,
    pub seed: u64,
    pub latency_ms: u64,
    /// Requests per minute per token.
    pub rate_limit: u32,
    pub fault_rate: f64,
    pub token_ttl_secs: u64,
    /// (id, secret) of clients with read and write permission.
    pub clients: Vec<(String, String)>,
    /// (id, secret) of clients with read permission only.
    pub read_only_clients: Vec<(String, String)>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            actions: None,
            seed: 1,
            latency_ms: 0,
            rate_limit: 300,
            fault_rate: 0.0,
            token_ttl_secs: 86399,
            clients: vec![(DEFAULT_CLIENT_ID.into(), DEFAULT_CLIENT_SECRET.into())],
            read_only_clients: vec![],
        }
    }
}

/// A running sandbox; stops when dropped.
pub struct Sandbox {}

impl Sandbox {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(_options: SandboxOptions) -> std::io::Result<Sandbox> {
        todo!()
    }

    /// e.g. `http://127.0.0.1:41235`
    pub fn base_url(&self) -> &Url {
        todo!()
    }
}

/// Serves until killed, printing the base URL as the first line of stdout (`dactl sandbox`).
pub fn run_blocking(_options: SandboxOptions) -> anyhow::Result<()> {
    todo!()
}
