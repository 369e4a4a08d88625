//! The sandbox: an axum emulator of the Genesys Cloud endpoints dactl uses, for tests, demos and
//! benchmarks. It behaves as `shared/genesys-api.md` documents the platform, not as a client
//! might wish: `config` only with `includeConfig=true`, versions that rise on every write, 409 on
//! a stale version, a per-token sliding-window rate limit, and faults on demand.
//!
//! - `auth`: `POST /oauth/token`, bearer tokens, permissions, the per-token rate limit.
//! - `routes`: the Data Actions and integrations endpoints and the `/sandbox/...` inspection routes,
//!   one file per resource.
//! - `wire`: the sandbox's own request and answer types, read from the contract file and sharing
//!   nothing with the client's `genesys::models`; what they refuse and what they keep is said there.
//! - `gateway`: correlation ids, request statistics, latency and fault injection.
//! - `state`: the org behind one mutex; `seed`: the default and generated orgs.
//! - `executions`: every action's seeded execution history; `analytics`: the actions aggregates
//!   query answered from it, and `GET /sandbox/executions`, its truth per action.
//!
//! Where the platform's behaviour is UNCONFIRMED, `variants` (`crate::platform::variants`) offers each plausible behaviour and
//! defaults to the harshest one a source supports: templates shown by URI only, a write without
//! template text getting the platform's defaults, a stale version answered by 400 `bad.request`,
//! bad client credentials by 400. Other decisions where the notes are silent:
//! - Configs are stored with their templates named by URI and the text kept apart, byte for byte
//!   (`state::Body`); template routes serve it as `text/plain`.
//! - Request bodies are checked as the platform would: unknown top-level fields, a missing
//!   `version`, function settings without the contract's required fields, a field of another type
//!   than the contract gives it, a draft contract that is not an `ActionContractInput`, and
//!   template text or headers that are not strings are refused with 400 and the error body of
//!   the notes. A config keeps fields no model lists. `wire` says what is closed and why.
//! - A second `POST .../draft` while a draft exists is a 400 `bad.request` (not a 409, which would
//!   read as a version conflict). A draft starts at version 1; `PATCH .../draft` checks and bumps
//!   it; `PUT .../draft/function` does not bump it. Publishing needs the draft's version.
//! - `PUT .../draft/function` keeps the platform-owned `id`, `name`, `dateCreated`, `zipId`, and
//!   fills `timeoutSeconds` with 15 when absent.
//! - Function settings of an action that is not a function data action: 400 `bad.request`.
//! - `pageSize` is 1..=100 (the documented maximum of this endpoint is not known; 100 is safe).
//! - Faults are decided before authentication (they stand for the gateway in front of the
//!   platform) and do not count against the rate limit; requests over the rate limit are not
//!   counted either. `latency_ms` delays `/api/v2` and `/oauth/token`, not `/sandbox/...`.
//! - A `fault_rate` below 1 stands for transient trouble: one request (method, path and query)
//!   meets at most `gateway::FAULT_STREAK` (3) faults in a row, then gets through (dactl tries a
//!   request up to 6 times). A rate of 1 is an outage: every request is faulted.
//! - `corrupt_writes` stands for a platform that changes more than it was asked to: the first N
//!   action PATCHes also replace a template with the platform's default text.
//! - `renames_during_listing` stands for another admin renaming actions while a listing is read:
//!   after each of the first N listing pages served (no `ids=`), the action last by name is
//!   renamed to sort first, shifting every later page by one.
//! - `/sandbox/stats` counts every `/api/v2` and `/oauth/token` request, faulted ones included;
//!   status 0 means the connection was dropped without an answer. `/sandbox/...` is not counted.
//!   Per token (keyed by a hash, never the token) it counts admitted and throttled requests;
//!   `peak_in_flight` is the most requests it was answering at once.
//! - `GET /sandbox/actions` shows every action as stored (config naming templates by URI,
//!   contract, function settings, draft); `?templates=text` adds each template's text.
//! - `GET /sandbox/exchanges` (with `record_exchanges`) lists every `/api/v2` and `/oauth/token`
//!   request with its answer, bodies included, for contract tests: `{"recording", "exchanges"}`.
//! - `GET /sandbox/tokens` lists every access token issued so far (`{"tokens": [...]}`, oldest
//!   first, expired ones included), so tests can prove no token leaks into output or files.
//! - `GET /sandbox/executions` shows the execution history's truth per action over a window
//!   (`?interval=START/END`, `?days=N`, `&actionId=...`); see `analytics`.
//! - `POST /sandbox/clients/{clientId}/revoke` deletes an OAuth client mid-run: its id and secret
//!   are refused from then on and its tokens stop working (204; 404 for an unknown client).
//!
//! Connections are served by our own accept loop (hyper-util) rather than `axum::serve`, because
//! a fault must be able to close a TCP connection without answering; see `gateway`.

mod analytics;
mod auth;
mod error;
mod executions;
mod gateway;
mod routes;
mod seed;
mod state;
mod wire;

/// The platform variants table lives in `platform` (production code reads it too); the sandbox
/// plays it.
pub use crate::platform::variants;

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
pub use variants::Variants;

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
    /// `Retry-After` seconds of injected 429s (default 1). The platform's own limit answers
    /// with the real wait; this knob lets tests send a client a wait it must refuse (> 180 s).
    pub retry_after_secs: u64,
    /// Every injected fault is a 429 (no 503s, no dropped connections): for tests of Retry-After.
    pub only_throttle_faults: bool,
    /// Faults hit only writes (POST, PUT, PATCH, DELETE): reads always succeed.
    pub only_write_faults: bool,
    /// The choice made for each behaviour the notes mark UNCONFIRMED (see `variants`).
    pub variants: Variants,
    /// The first N action PATCHes also replace a template with the platform's default text (the
    /// request template, or the success template when the request one is already the default).
    pub corrupt_writes: u32,
    /// After each of the first N pages of an actions listing without `ids=`, another admin
    /// renames the action that sorts last by name so that it sorts first (its version goes up,
    /// as with any edit): every later page of that listing shifts by one.
    pub renames_during_listing: u32,
    /// Keep every `/api/v2` and `/oauth/token` exchange (method, route template, query, both
    /// bodies and content types, status) for `GET /sandbox/exchanges`. Off by default: bodies are
    /// then never buffered.
    pub record_exchanges: bool,
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
            retry_after_secs: 1,
            only_throttle_faults: false,
            only_write_faults: false,
            variants: Variants::default(),
            corrupt_writes: 0,
            renames_during_listing: 0,
            record_exchanges: false,
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
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let history = executions::History::new(
            options.seed,
            actions
                .iter()
                .map(|a| (a.id.as_str(), a.body.config.timeout_seconds)),
            now_ms,
        );
        let corrupt_writes = options.corrupt_writes;
        let renames_during_listing = options.renames_during_listing;
        let state = State {
            rng: fastrand::Rng::with_seed(options.seed ^ 0x9e37_79b9_7f4a_7c15),
            options,
            actions: actions.into_iter().map(|a| (a.id.clone(), a)).collect(),
            integrations: seed::integrations(),
            tokens: HashMap::new(),
            issued_tokens: Vec::new(),
            api_windows: HashMap::new(),
            token_windows: HashMap::new(),
            stats: BTreeMap::new(),
            token_stats: BTreeMap::new(),
            in_flight: 0,
            peak_in_flight: 0,
            listings_by_ids: 0,
            corrupt_writes_left: corrupt_writes,
            fault_streaks: HashMap::new(),
            renames_left: renames_during_listing,
            exchanges: Vec::new(),
            history: Arc::new(history),
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
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling available: serve until killed.
            std::future::pending::<()>().await;
        }
    };
    serve_until(options, &mut std::io::stdout(), stop)
}

/// [`run_blocking`] with the output and the stop signal as parameters, so tests can drive it.
fn serve_until(
    options: SandboxOptions,
    out: &mut impl Write,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Could not start the tokio runtime for the sandbox")?;
    runtime.block_on(async {
        let listen = options.listen;
        let sandbox = Sandbox::start(options).await.with_context(|| {
            format!("Could not listen on `{listen}`; choose another --listen address")
        })?;
        writeln!(out, "{}", sandbox.base_url().as_str().trim_end_matches('/'))?;
        out.flush()?;
        stop.await;
        drop(sandbox);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends what the server prints to the test, line by line.
    struct Lines(std::sync::mpsc::Sender<String>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn serve_until_prints_the_base_url_first_and_serves_until_stopped() {
        use std::io::Read;
        let (lines, printed) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let stop = async {
                let _ = stopped.await;
            };
            serve_until(SandboxOptions::default(), &mut Lines(lines), stop)
        });
        let first = printed.recv().unwrap();
        let base = first.trim_end();
        assert!(base.starts_with("http://127.0.0.1:"), "{first:?}");
        assert!(!base.ends_with('/'));

        let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
        stream
            .write_all(b"GET /sandbox/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

        stop.send(()).unwrap();
        server.join().unwrap().unwrap();
    }
}
