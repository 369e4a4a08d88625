//! `TokenPool`: the client's tokens, each with its own rate limit, and the choice of the token
//! that carries the next request.
//!
//! Genesys Cloud counts its rate limit (300 requests a minute by default) per token. The
//! Terraform provider keeps a pool of 1 to 50 tokens for that reason (`token_pool_size`, default
//! 10: "each token will have its own rate limit"), and so does dactl:
//!
//! - **One limiter per token.** Each slot holds a token and the instant it may next be used;
//!   sending on a slot moves that instant one interval on. That is a rate limiter with a burst of
//!   one (what `governor` with `allow_burst(1)` does): the requests of one token are evenly spaced.
//!   It is one `Instant` per slot rather than a governor limiter per slot because the pool must
//!   compare slots without taking from them, and a governor limiter can only be asked by taking.
//! - **Late sends keep their slot.** A request that waited for its instant wakes a little after
//!   it (the timer's millisecond, the scheduler): a limiter that counted the next interval from the
//!   send lost that much of every interval, 6 % of the rate when the benchmark measured it. So the
//!   next instant is counted from the instant due, not from the send, for a send up to [`CREDIT`]
//!   late. Then request `k + n` goes at least `n × interval - CREDIT` after request `k`, so the
//!   interval is `(60 s + CREDIT) / rate`: no 60-second window ever sees more than the rate.
//! - **The earliest slot wins.** A request goes on the slot free soonest. When none is free now it
//!   sleeps until the soonest one is, or until the pool changes (a token added or renewed), and
//!   chooses again. Choosing again rather than booking a future instant lets a waiting request move
//!   to a token minted or freed meanwhile; the price is that every waiter wakes when a slot frees
//!   (at most `--concurrency` of them, under one uncontended lock).
//! - **A 429 pauses its token** until the end of its `Retry-After`; the others go on. The request
//!   that got it chooses again, so it moves to whichever token is free soonest. With one token the
//!   whole client waits, as before there was a pool.
//! - **Tokens are minted lazily, together.** The pool starts empty. The first request mints
//!   the first token (a second request waiting for it mints one more beside it); the pool grows
//!   only when a request finds every token busy (its next instant in the future), and then to
//!   its full size at once, all the missing tokens minted together, as the Terraform provider's
//!   pre-fill does (it mints its whole pool at once when it starts): one round trip to the token
//!   endpoint. A run of a few requests one after another mints one token. Minting one at a
//!   time left a pool of ten short of tokens for ten round trips (the tenth token came 326 ms
//!   into a 512 ms run of 40 actions at the defaults ×10; now 55 ms, see docs/performance.md).
//!   The pool's size bounds the mints: at most 50 in flight or held, and the sandbox's default token
//!   limit is 60 a minute per OAuth client (the platform's is not documented). Mints were once
//!   spaced a second apart; that left a pool of ten short of tokens for its first nine seconds,
//!   45 of the 600 token-seconds of a minute-long run (7.5 %), for a limit no source gives.
//! - **The token endpoint's limit.** A mint the work cannot do without (the first token, a renewal,
//!   a new token after a 401) retries the endpoint's 400 `rate limit exceeded` like any transient
//!   failure (`auth::mint`). A mint that would only grow the pool is tried once: when it fails, the
//!   pool goes on with the tokens it has and tries to grow again after [`GROWTH_HOLD_OFF`] (a
//!   minute, the endpoint's window), so a busy endpoint is not pressed for tokens the run can do
//!   without.
//! - **Renewal.** A token is renewed shortly before it expires (`min(60 s, lifetime / 4)` early), by
//!   the first request that finds it due while no other mint is in flight; until it expires it
//!   stays in use, so a renewal holds up no one.
//! - **401.** The caller drops the token it used ([`TokenPool::invalidate`]) only if its slot still
//!   holds that token, and repeats once on the same slot, which mints a new one: fifty requests
//!   that saw the same expired token cause one mint, and the other tokens are left alone.
//! - **Refused credentials.** A mint refused for the credentials themselves (`invalid_client`,
//!   `unauthorized_client`, a 401: the OAuth client was deleted or its secret changed mid-run) is
//!   remembered: every later mint of the pool, of any kind, fails at once with that error and
//!   sends nothing. Asking again with the same id and secret cannot succeed, and a run whose
//!   revoked tokens each come back for a new one would otherwise send a token request per request
//!   (hundreds a minute). The error names where the credentials came from
//!   ([`TokenPool::set_credential_source`]).
//! - **A ready-made access token** is a pool of one that is never minted; a 401 with it is final.
//!
//! The concurrency limit (requests in flight) is the client's, shared by every token, so one slow
//! token holds only the requests on it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::genesys::auth::mint;
use crate::genesys::client::{ClientOptions, Credentials};
use crate::genesys::{Error, RetryPolicy, Target};
use crate::secret::Secret;

/// Most tokens in one pool (the Terraform provider's limit for `token_pool_size`).
pub const MAX_TOKENS: usize = 50;

/// How late a send may be and still count from the instant it was due (see the module doc).
pub const CREDIT: Duration = Duration::from_millis(5);

/// How long a request waiting on a mint in flight sleeps at most before it looks again (the
/// mint's end wakes it sooner).
const MINT_WAKE: Duration = Duration::from_secs(1);

/// How long a pool stays at its size after a mint that would have grown it failed.
pub const GROWTH_HOLD_OFF: Duration = Duration::from_secs(60);

pub struct TokenPool {
    credentials: Credentials,
    /// Tokens wanted at most (1 for a ready-made token).
    size: usize,
    /// Least time between two requests on one token: `(60 s + CREDIT) / rate`.
    interval: Duration,
    http: reqwest::Client,
    target: Target,
    retry: RetryPolicy,
    timeout: Duration,
    state: Mutex<State>,
    /// Woken when a mint ends (a token added or renewed, or a mint given up).
    changed: Notify,
    minted: AtomicU64,
    /// Where the client id and secret came from, for the message when they are refused.
    source: std::sync::OnceLock<String>,
}

#[derive(Default)]
struct State {
    /// Only ever added to, so a slot's index names it for the life of the pool.
    slots: Vec<Slot>,
    /// The first token or a renewal is being minted (one at a time); its end wakes the waiters.
    minting: bool,
    /// That mint is the first token's: it counts towards the pool's size.
    minting_first: bool,
    /// Mints in flight that grow the pool (as many at once as requests found every token busy,
    /// up to the pool's size); each one's end wakes the waiters.
    growing: usize,
    /// No growth before this instant (after a failed growth mint).
    grow_after: Option<Instant>,
    /// The token endpoint refused the credentials: every later mint ends with this error.
    refused: Option<Error>,
}

struct Slot {
    token: Secret,
    /// When to renew it; `None`: never (a ready-made token).
    refresh_at: Option<Instant>,
    /// When the server stops taking it; `None`: unknown (a ready-made token).
    expires_at: Option<Instant>,
    /// The next instant a request may go on this token (the rate limit).
    next_free: Instant,
    /// After a 429: no request on this token before this instant.
    paused_until: Option<Instant>,
}

impl Slot {
    fn free_at(&self) -> Instant {
        match self.paused_until {
            Some(pause) => pause.max(self.next_free),
            None => self.next_free,
        }
    }

    fn usable(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|expiry| now < expiry)
    }

    fn due(&self, now: Instant) -> bool {
        self.refresh_at.is_some_and(|refresh| refresh <= now)
    }
}

/// A token to send one request with, and the slot it came from.
pub struct Lease {
    pub slot: usize,
    pub token: Secret,
    /// How long the token is still good for (`None` when unknown: a ready-made token).
    pub remaining: Option<Duration>,
}

/// What a request does next.
enum Step {
    Go(Lease),
    Mint(Mint),
    /// Mint this many tokens at once to grow the pool (each counted in `growing`).
    Grow(usize),
    /// Sleep until then, or until the pool changes.
    Wait(Option<Instant>),
}

#[derive(Debug, Clone, Copy)]
enum Mint {
    First,
    Grow,
    Renew(usize),
}

impl State {
    fn lease(&self, slot: usize, now: Instant) -> Lease {
        let chosen = &self.slots[slot];
        Lease {
            slot,
            token: chosen.token.clone(),
            remaining: chosen.expires_at.map(|expiry| expiry - now),
        }
    }
}

impl TokenPool {
    pub fn new(options: &ClientOptions, http: reqwest::Client) -> TokenPool {
        let rate = options.rate_per_minute.max(1);
        let mut state = State::default();
        let size = match &options.credentials {
            Credentials::AccessToken(token) => {
                state.slots.push(Slot {
                    token: token.clone(),
                    refresh_at: None,
                    expires_at: None,
                    next_free: Instant::now(),
                    paused_until: None,
                });
                1
            }
            Credentials::ClientCredentials { .. } => options.pool_size(),
        };
        TokenPool {
            credentials: options.credentials.clone(),
            size,
            interval: (Duration::from_secs(60) + CREDIT) / rate,
            http,
            target: options.target.clone(),
            retry: options.retry.clone(),
            timeout: options.request_timeout,
            state: Mutex::new(state),
            changed: Notify::new(),
            minted: AtomicU64::new(0),
            source: std::sync::OnceLock::new(),
        }
    }

    /// Names where the client id and secret came from (e.g. the env vars, or a profile), for the
    /// error when the token endpoint refuses them. Never the secret. The first one given stays.
    pub fn set_credential_source(&self, source: String) {
        let _ = self.source.set(source);
    }

    /// Tokens minted so far (renewals included).
    pub fn minted(&self) -> u64 {
        self.minted.load(Ordering::Relaxed)
    }

    /// Whether tokens can be minted (client credentials, not a ready-made token).
    pub fn can_mint(&self) -> bool {
        matches!(self.credentials, Credentials::ClientCredentials { .. })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a token to send one request with: on slot `only` when given (the repeat after a
    /// 401), else on the slot free soonest. The rate limit is taken: send right away.
    pub async fn acquire(&self, only: Option<usize>) -> Result<Lease, Error> {
        self.run(only, true).await
    }

    /// A good token, minting the first one if there is none; takes nothing from the rate limit.
    pub async fn any(&self) -> Result<Lease, Error> {
        self.run(None, false).await
    }

    async fn run(&self, only: Option<usize>, send: bool) -> Result<Lease, Error> {
        loop {
            // Registered before the state is read, so a mint that ends in between still wakes us.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            match self.step(now, only, send) {
                Step::Go(lease) => return Ok(lease),
                Step::Mint(kind) => self.mint(kind).await?,
                Step::Grow(n) => {
                    let mints = (0..n).map(|_| self.mint(Mint::Grow));
                    for minted in futures::future::join_all(mints).await {
                        minted?;
                    }
                }
                Step::Wait(until) => {
                    // `None` happens only while a mint is in flight, whose end wakes us; the
                    // deadline is a safety net.
                    let until = until.unwrap_or(now + MINT_WAKE);
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = &mut changed => {}
                    }
                }
            }
        }
    }

    /// Decides, under the lock, what the request does next; a `Go` has taken its rate slot, a
    /// `Mint` has set `minting`.
    fn step(&self, now: Instant, only: Option<usize>, send: bool) -> Step {
        let mut state = self.lock();
        let can_mint = self.can_mint();
        let in_scope = |slot: usize| only.is_none_or(|only| only == slot);

        // A token due for renewal is renewed by whoever finds no mint in flight.
        let due = (0..state.slots.len()).find(|&i| in_scope(i) && state.slots[i].due(now));
        // Not beside growth mints either: the token endpoint's own limit is shared, and a
        // renewal is a mint the work cannot do without.
        if let Some(slot) = due
            && can_mint
            && !state.minting
            && state.growing == 0
        {
            state.minting = true;
            return Step::Mint(Mint::Renew(slot));
        }

        // The usable token free soonest (the one idle longest among those free now).
        let best = state
            .slots
            .iter()
            .enumerate()
            .filter(|(i, slot)| in_scope(*i) && slot.usable(now))
            .min_by_key(|(_, slot)| (slot.free_at(), slot.next_free))
            .map(|(i, slot)| (i, slot.free_at()));
        if let Some((slot, free_at)) = best {
            if !send {
                return Step::Go(state.lease(slot, now));
            }
            if free_at <= now {
                let due = state.slots[slot].next_free;
                state.slots[slot].next_free =
                    due.max(now.checked_sub(CREDIT).unwrap_or(now)) + self.interval;
                return Step::Go(state.lease(slot, now));
            }
        }

        // Every token busy (or none yet): mint the first one, or grow the pool.
        // The first token's mint counts as one in flight: a second request waiting for it (the
        // integrations read beside the listing's first page) starts a mint of its own.
        let first_in_flight = state.minting_first;
        let held = state.slots.len() + state.growing + usize::from(first_in_flight);
        let room = only.is_none() && can_mint && held < self.size;
        let first = room && state.slots.is_empty() && state.growing == 0;
        let held_off = state.grow_after.filter(|after| *after > now);
        // Beside the first token's mint, one more; once a token is held and no other mint of
        // the kind the work cannot do without is in flight, the rest.
        let beside = first_in_flight && state.slots.is_empty() && state.growing == 0;
        let fill = !state.slots.is_empty() && !state.minting;
        let grow =
            room && send && (beside || fill) && held_off.is_none() && state.refused.is_none();
        if first && !state.minting {
            state.minting = true;
            state.minting_first = true;
            return Step::Mint(Mint::First);
        }
        if grow {
            // Beside the first token's mint, one more (the integrations read beside the
            // listing); once a token is held, the rest of the pool at once, as the Terraform
            // provider's pre-fill does: work that keeps one token busy soon needs them all. (A
            // client revoked while the pool fills has each mint of the fill refused once.)
            let n = if beside { 1 } else { self.size - held };
            state.growing += n;
            return Step::Grow(n);
        }

        // Wait for the soonest of: the best token coming free, the end of the mint in flight
        // (which wakes every waiter), the end of a hold-off on growth.
        let mut until = best.map(|(_, free_at)| free_at);
        if room
            && send
            && let Some(after) = held_off
        {
            until = Some(until.map_or(after, |u| u.min(after)));
        }
        Step::Wait(until)
    }

    /// Mints for `kind`; `minting` was set by `step`. A failed growth is not an error: the pool
    /// goes on with the tokens it has.
    async fn mint(&self, kind: Mint) -> Result<(), Error> {
        // Clears `minting` (or counts the growth mint out) and wakes the waiters however this
        // ends, cancellation included.
        struct InFlight<'a>(&'a TokenPool, Mint);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                {
                    let mut state = self.0.lock();
                    match self.1 {
                        Mint::Grow => state.growing = state.growing.saturating_sub(1),
                        Mint::First | Mint::Renew(_) => {
                            state.minting = false;
                            state.minting_first = false;
                        }
                    }
                }
                self.0.changed.notify_waiters();
            }
        }
        let _in_flight = InFlight(self, kind);

        let Credentials::ClientCredentials {
            client_id,
            client_secret,
        } = &self.credentials
        else {
            unreachable!("`step` mints only with client credentials");
        };
        let single;
        let policy = match kind {
            Mint::Grow => {
                single = RetryPolicy {
                    max_attempts: 1,
                    ..self.retry.clone()
                };
                &single
            }
            Mint::First | Mint::Renew(_) => &self.retry,
        };
        if let Some(refused) = self.lock().refused.clone() {
            return Err(refused);
        }
        // Taken before the request, so the expiry errs on the early side.
        let sent = Instant::now();
        let result = mint(
            &self.http,
            &self.target,
            policy,
            self.timeout,
            client_id,
            client_secret,
        )
        .await;
        let mut state = self.lock();
        let response = match result {
            Ok(response) => response,
            Err(mut error) => {
                if error.is_credentials_refused() {
                    if let Error::Auth {
                        credentials_from, ..
                    } = &mut error
                    {
                        *credentials_from = self.source.get().cloned();
                    }
                    state.refused = Some(error.clone());
                    return Err(error);
                }
                if let Mint::Grow = kind {
                    state.grow_after = Some(Instant::now() + GROWTH_HOLD_OFF);
                    let reason = match &error {
                        Error::Auth {
                            status,
                            error,
                            description,
                            ..
                        } => format!("{status} `{error}`: {description}"),
                        other => other.to_string(),
                    };
                    tracing::warn!(
                        "The token endpoint gave no further token for the pool ({reason}); going on \
                         with {} of {} tokens, and asking again in a minute.",
                        state.slots.len(),
                        self.size
                    );
                    return Ok(());
                }
                return Err(error);
            }
        };
        self.minted.fetch_add(1, Ordering::Relaxed);
        let lifetime = Duration::from_secs(response.expires_in);
        let early = (lifetime / 4).min(Duration::from_secs(60));
        let token = Secret::new(response.access_token);
        let (refresh_at, expires_at) = (Some(sent + lifetime - early), Some(sent + lifetime));
        match kind {
            Mint::First | Mint::Grow => state.slots.push(Slot {
                token,
                refresh_at,
                expires_at,
                next_free: Instant::now(),
                paused_until: None,
            }),
            Mint::Renew(slot) => {
                let renewed = &mut state.slots[slot];
                renewed.token = token;
                renewed.refresh_at = refresh_at;
                renewed.expires_at = expires_at;
            }
        }
        tracing::debug!(tokens = state.slots.len(), ?kind, "token minted");
        Ok(())
    }

    /// After a 401 with `failed` on `slot`: the slot's token is renewed before its next use,
    /// unless a newer one replaced it already. A ready-made token is kept (it cannot be replaced).
    pub fn invalidate(&self, slot: usize, failed: &Secret) {
        if !self.can_mint() {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(stale) = state.slots.get_mut(slot).filter(|s| s.token == *failed) {
            stale.expires_at = Some(now);
            stale.refresh_at = Some(now);
        }
    }

    /// After a 429 on `slot`: no request goes on it for `wait`. A shorter pause never shortens a
    /// longer one.
    pub fn pause(&self, slot: usize, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.lock();
        if let Some(paused) = state.slots.get_mut(slot) {
            paused.paused_until = Some(paused.paused_until.map_or(until, |p| p.max(until)));
        }
    }

    /// About how long the next request waits for a token: until the soonest one is free, or
    /// until another may be minted, whichever comes first.
    pub fn soonest_wait(&self) -> Duration {
        let now = Instant::now();
        let state = self.lock();
        let free = state
            .slots
            .iter()
            .filter(|slot| slot.usable(now))
            .map(Slot::free_at)
            .min();
        let can_grow = self.can_mint()
            && state.slots.len() + state.growing < self.size
            && state.grow_after.is_none_or(|after| after <= now);
        let mint = match state.minting && state.slots.is_empty() {
            _ if !can_grow && free.is_some() => None,
            false => Some(now),
            // The first mint in flight: its end wakes the waiters.
            true => Some(now + MINT_WAKE),
        };
        let soonest = match (free, mint) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => now,
        };
        soonest.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of `tokens` ready tokens (`t0`, `t1`, ...) at `rate` per minute each, that mints none.
    fn pool(tokens: usize, rate: u32) -> TokenPool {
        let options = ClientOptions {
            target: Target::parse("eu-west-1").unwrap(),
            credentials: Credentials::AccessToken(Secret::new("t0")),
            rate_per_minute: rate,
            tokens: 1,
            concurrency: 8,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
        };
        let mut pool = TokenPool::new(&options, reqwest::Client::new());
        pool.size = tokens;
        let state = pool.state.get_mut().unwrap();
        for i in 1..tokens {
            state.slots.push(Slot {
                token: Secret::new(format!("t{i}")),
                refresh_at: None,
                expires_at: None,
                next_free: Instant::now(),
                paused_until: None,
            });
        }
        pool
    }

    async fn send(pool: &TokenPool) -> usize {
        pool.acquire(None).await.unwrap().slot
    }

    #[tokio::test]
    async fn each_token_is_spaced_at_the_rate_and_requests_spread_over_them() {
        // 1200 a minute per token: one every 50 ms on each. Thirty requests go ten on each
        // token, in turn, and the tenth on a token waited nine spacings: at least 450 ms.
        let pool = pool(3, 1200);
        let start = Instant::now();
        let mut order = Vec::new();
        for _ in 0..30 {
            order.push(send(&pool).await);
        }
        let elapsed = start.elapsed();
        assert_eq!(order, [0, 1, 2].repeat(10));
        assert!(elapsed >= Duration::from_millis(440), "{elapsed:?}");
    }

    /// On a paused clock, sends woken late by up to 8 ms (or not at all) at random: every
    /// 60-second window holds at most the rate, and sends late by no more than `CREDIT` lose no
    /// time. Fails with a limiter that counts each interval from the send (it drifts by every
    /// lateness), or one that credits lateness without widening the interval (a window then holds
    /// one request too many).
    #[tokio::test(start_paused = true)]
    async fn late_sends_keep_their_slot_and_no_window_holds_more_than_the_rate() {
        let rate = 600;
        let pool = pool(1, rate);
        let mut random = fastrand::Rng::with_seed(11);
        for max_late in [CREDIT, Duration::from_millis(8)] {
            let mut sent = Vec::new();
            for _ in 0..3 * rate {
                send(&pool).await;
                let now = Instant::now();
                sent.push(now);
                // The next send: half the time asked for early (it waits, and goes on time),
                // half the time woken late by up to `max_late`.
                let due = pool.lock().slots[0].next_free;
                let back = if random.bool() {
                    (due - now).mul_f64(random.f64())
                } else {
                    due - now + max_late.mul_f64(random.f64())
                };
                tokio::time::advance(back).await;
            }
            let window = Duration::from_secs(60);
            for (k, start) in sent.iter().enumerate() {
                let within = sent[k..]
                    .iter()
                    .take_while(|t| **t - *start < window)
                    .count();
                assert!(
                    within <= rate as usize,
                    "{within} sends in 60 s from send {k}"
                );
            }
            if max_late == CREDIT {
                let span = *sent.last().unwrap() - sent[0];
                let most = pool.interval * (sent.len() as u32 - 1) + CREDIT;
                assert!(
                    span <= most,
                    "{span:?} for {} sends, at most {most:?}",
                    sent.len()
                );
            }
        }
    }

    #[tokio::test]
    async fn a_pause_holds_only_its_token() {
        let pool = pool(2, 60_000);
        let paused = send(&pool).await;
        pool.pause(paused, Duration::from_secs(30));
        let start = Instant::now();
        for _ in 0..20 {
            assert_ne!(send(&pool).await, paused);
        }
        // Not held for the other token's 30 s either.
        assert!(start.elapsed() < Duration::from_secs(5));
        // A shorter pause never shortens a longer one.
        pool.pause(paused, Duration::from_millis(1));
        assert!(pool.lock().slots[paused].free_at() > Instant::now() + Duration::from_secs(25));
    }

    #[tokio::test]
    async fn with_every_token_paused_the_wait_is_the_shortest_pause() {
        let pool = pool(2, 60_000);
        pool.pause(0, Duration::from_millis(300));
        pool.pause(1, Duration::from_secs(30));
        let wait = pool.soonest_wait();
        assert!(
            wait > Duration::from_millis(200) && wait <= Duration::from_millis(300),
            "{wait:?}"
        );
        let start = Instant::now();
        assert_eq!(send(&pool).await, 0);
        assert!(start.elapsed() >= Duration::from_millis(290));
    }

    #[tokio::test]
    async fn a_ready_made_token_is_one_token_and_outlives_a_401() {
        let pool = pool(1, 60_000);
        let lease = pool.any().await.unwrap();
        assert_eq!((lease.slot, lease.token.expose()), (0, "t0"));
        assert_eq!(lease.remaining, None);
        pool.invalidate(0, &lease.token);
        assert_eq!(pool.acquire(Some(0)).await.unwrap().token.expose(), "t0");
        assert!(!pool.can_mint());
    }
}
