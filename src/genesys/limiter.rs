//! `Limiter`: how fast and how many at once, for every request of one `Client` and its clones.
//!
//! Three gates, passed in this order before each API request:
//! 1. a concurrency limit (a tokio `Semaphore` with `concurrency` permits), held while the request
//!    is in flight and released before any backoff, so a sleeping retry does not block others;
//! 2. a shared "not before" instant, pushed forward by every 429 to the end of its `Retry-After`:
//!    after one 429 the whole client waits, not just the request that got it;
//! 3. a governor rate limiter at `rate_per_minute` with a burst of 1, so requests are evenly spaced
//!    (one every `60 / rate` seconds) and no 60-second window of the server sees more than the rate.
//!
//! "Every request of the process" means every request of one `Client` and its clones: the session
//! holds one client, and Genesys Cloud counts its limit per token, which a client owns.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

pub struct Limiter {
    rate: DefaultDirectRateLimiter,
    in_flight: Semaphore,
    not_before: Mutex<Option<Instant>>,
}

impl Limiter {
    /// `rate_per_minute` and `concurrency` below 1 are taken as 1.
    pub fn new(rate_per_minute: u32, concurrency: usize) -> Limiter {
        let rate = NonZeroU32::new(rate_per_minute).unwrap_or(NonZeroU32::MIN);
        Limiter {
            rate: RateLimiter::direct(Quota::per_minute(rate).allow_burst(NonZeroU32::MIN)),
            in_flight: Semaphore::new(concurrency.max(1)),
            not_before: Mutex::new(None),
        }
    }

    /// Waits until a request may be sent; the permit is held while it is in flight.
    pub async fn acquire(&self) -> SemaphorePermit<'_> {
        // The semaphore is never closed, so acquire cannot fail.
        let permit = self
            .in_flight
            .acquire()
            .await
            .expect("the limiter's semaphore is never closed");
        loop {
            self.wait_out_pause().await;
            self.rate.until_ready().await;
            // A 429 that arrived while this request waited for its turn pauses it too.
            if self.paused_until().is_none() {
                return permit;
            }
        }
    }

    /// After a 429: no request of this client is sent for `wait`.
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if not_before.is_none_or(|current| current < until) {
            *not_before = Some(until);
        }
    }

    /// The instant requests wait for, while it is in the future.
    pub fn paused_until(&self) -> Option<Instant> {
        let not_before = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        not_before.filter(|until| *until > Instant::now())
    }

    async fn wait_out_pause(&self) {
        while let Some(until) = self.paused_until() {
            tokio::time::sleep_until(until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn requests_are_evenly_spaced_at_the_rate() {
        // 1200 per minute: one every 50 ms; 11 requests need at least 500 ms.
        let limiter = Limiter::new(1200, 4);
        let start = Instant::now();
        for _ in 0..11 {
            drop(limiter.acquire().await);
        }
        assert!(
            start.elapsed() >= Duration::from_millis(490),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn a_pause_holds_every_request() {
        let limiter = Arc::new(Limiter::new(60_000, 8));
        drop(limiter.acquire().await);
        limiter.pause_for(Duration::from_millis(300));
        let start = Instant::now();
        let waits = (0..4).map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                drop(limiter.acquire().await);
                start.elapsed()
            })
        });
        for wait in futures::future::join_all(waits).await {
            assert!(wait.unwrap() >= Duration::from_millis(290));
        }
        // A shorter pause never shortens a longer one.
        limiter.pause_for(Duration::from_secs(5));
        limiter.pause_for(Duration::from_millis(1));
        assert!(limiter.paused_until().unwrap() > Instant::now() + Duration::from_secs(4));
    }

    #[tokio::test]
    async fn concurrency_is_limited() {
        let limiter = Limiter::new(60_000, 2);
        let a = limiter.acquire().await;
        let _b = limiter.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(100), limiter.acquire()).await;
        assert!(
            third.is_err(),
            "a third request went out with concurrency 2"
        );
        drop(a);
        let third = tokio::time::timeout(Duration::from_millis(500), limiter.acquire()).await;
        assert!(third.is_ok());
    }
}
