//! The sandbox: an axum emulator of the Genesys Cloud endpoints dactl uses, for tests, demos and
//! benchmarks. It behaves as `shared/genesys-api.md` documents the platform, not as a client
//! might wish: `config` only with `includeConfig=true`, versions that rise on every write, 409 on
//! a stale version, a per-token sliding-window rate limit, and faults on demand.
//!
//! - `auth`: `POST /oauth/token`, bearer tokens, permissions, the per-token rate limit.
//! - `routes`: the Data Actions and integrations endpoints and the `/sandbox/...` inspection routes.
//! - `gateway`: correlation ids, request statistics, latency and fault injection.
//! - `state`: the org behind one mutex; `seed`: the default and generated orgs.
//!
//! Where the platform's behaviour is UNCONFIRMED the sandbox takes the answer that is harder on a
//! client: a PATCH whose config lacks template text loses that text (even text the old config
//! named only by URI); a version conflict is a 409 whose message says `does not match the current
//! version`; bad client credentials are a 401.
//!
//! Connections are served by our own accept loop (hyper-util) rather than `axum::serve`, because
//! a fault must be able to close a TCP connection without answering; see `gateway`.

mod auth;
mod error;
mod gateway;
mod routes;
mod seed;
mod state;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::Extension;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

use gateway::ConnHandle;
use state::{Shared, State};

/// The default client of every sandbox: `sandbox:sandbox`.
pub const DEFAULT_CLIENT_ID: &str = "sandbox";
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox";

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub listen: SocketAddr,
    /// `None`: the hand-written seed org (40 actions: 37 editable, 2 static, 1 custom
    /// authentication). `Some(n)`: n generated listable actions plus one custom authentication
    /// action (hidden from listings unless `includeAuthActions=true`).
    pub actions: Option<usize>,
    pub seed: u64,
    /// Delay before every `/api/v2` and `/oauth/token` response (not `/sandbox/...`).
    pub latency_ms: u64,
    /// Requests per minute per token.
    pub rate_limit: u32,
    /// Fraction (0.0..=1.0) of `/api/v2` requests answered with a 429, a 503 or a dropped connection.
    pub fault_rate: f64,
    pub token_ttl_secs: u64,
    /// (id, secret) of clients with read and write permission.
    pub clients: Vec<(String, String)>,
    /// (id, secret) of clients with read permission only.
    pub read_only_clients: Vec<(String, String)>,
    /// Token requests per minute per client (default 60); beyond it `POST /oauth/token` answers
    /// 400 `invalid_request` "rate limit exceeded ...".
    pub token_rate_limit: u32,
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
            token_rate_limit: 60,
        }
    }
}

/// A running sandbox; stops when dropped.
pub struct Sandbox {
    base_url: Url,
    server: JoinHandle<()>,
}

impl Sandbox {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(options: SandboxOptions) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let base_url = Url::parse(&format!("http://{addr}")).map_err(std::io::Error::other)?;
        let actions = match options.actions {
            None => seed::default_org(),
            Some(n) => seed::generated_org(n, options.seed),
        };
        let state = State {
            rng: fastrand::Rng::with_seed(options.seed ^ 0x9e37_79b9_7f4a_7c15),
            options,
            actions: actions.into_iter().map(|a| (a.id.clone(), a)).collect(),
            integrations: seed::integrations(),
            tokens: HashMap::new(),
            api_windows: HashMap::new(),
            token_windows: HashMap::new(),
            stats: BTreeMap::new(),
        };
        let router = routes::router(Shared(Arc::new(Mutex::new(state))));
        let server = tokio::spawn(serve(listener, router));
        Ok(Sandbox { base_url, server })
    }

    /// e.g. `http://127.0.0.1:41235`
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open connection.
        self.server.abort();
    }
}

/// Accepts connections until aborted. Each connection gets a [`ConnHandle`]; when the gateway
/// signals it, the connection future is dropped, which closes the socket without an answer.
async fn serve(listener: TcpListener, router: axum::Router) {
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!("sandbox: accept failed: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let handle = ConnHandle::default();
        let service = TowerToHyperService::new(router.clone().layer(Extension(handle.clone())));
        connections.spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = handle.0.notified() => {}
            }
        });
    }
}

/// Runs a sandbox until the process is killed (or Ctrl-C): what `dactl sandbox` calls.
///
/// Builds its own multi-threaded tokio runtime, so call it from plain (non-async) code. The first
/// line on stdout is the base URL (e.g. `http://127.0.0.1:41235`), flushed at once so a parent
/// process can read it; nothing else is written to stdout.
pub fn run_blocking(options: SandboxOptions) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Could not start the tokio runtime for the sandbox")?;
    runtime.block_on(async {
        let listen = options.listen;
        let sandbox = Sandbox::start(options).await.with_context(|| {
            format!("Could not listen on `{listen}`; choose another --listen address")
        })?;
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "{}",
            sandbox.base_url().as_str().trim_end_matches('/')
        )?;
        stdout.flush()?;
        drop(stdout);
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling available: serve until killed.
            std::future::pending::<()>().await;
        }
        drop(sandbox);
        Ok(())
    })
}

/// Parses a `--client`/`--read-only-client` value `ID:SECRET`.
pub fn parse_client(value: &str) -> anyhow::Result<(String, String)> {
    match value.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok((id.to_owned(), secret.to_owned()))
        }
        _ => anyhow::bail!(
            "A sandbox client must be written `ID:SECRET` (e.g. `sandbox:sandbox`); the value given has no `:` or an empty part"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_client_splits_at_the_first_colon() {
        assert_eq!(
            parse_client("ops:s3:cret").unwrap(),
            ("ops".to_owned(), "s3:cret".to_owned())
        );
        assert!(parse_client("nocolon").is_err());
        assert!(parse_client(":secret").is_err());
    }
}
