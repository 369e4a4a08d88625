//! `RetryPolicy`: which failed requests are sent again, and how long the client waits first.

use std::time::Duration;

use reqwest::Method;

/// The retry rules of the client, as a value. Every request goes through them, in this order:
///
/// 1. **429 Too Many Requests**: the *token* that got it waits the `Retry-After` seconds the server
///    gave (1 s when absent): no request is sent with it before that instant. Genesys Cloud counts
///    its limit per token, so the call is sent again at once on the token free soonest, if the
///    client has another one; with a single token the whole client waits. A `Retry-After` longer
///    than `max_retry_after` (180 s, the official SDKs' limit) ends the call at once with
///    `Error::RetryAfterTooLong`; dactl never hangs for hours. A 429 names the exact instant to come
///    back, so it does not use up `max_attempts`; only `max_total` bounds it (the call ends when
///    waiting for the soonest token would pass it).
/// 2. **502, 503, 504**: retried after exponential backoff with full jitter: the n-th retry waits a
///    random time in `0..=min(max_delay, base_delay * 2^(n-1))`, so many clients do not return in
///    step. Every method: the server did not apply a request it answered with one of these.
/// 3. **Connection errors and timeouts** (refused, reset, dropped, no answer in time): same backoff.
///    - A request that never left (the connection could not be made) is retried for every method.
///    - Otherwise the request may have reached the server and been applied with only the answer
///      lost. `GET` and `PUT` are idempotent and retried. `DELETE` is not here: the only one dactl
///      sends deletes "the action's draft", and a repeat after a lost answer could delete a draft
///      someone created meanwhile. `PATCH` and `POST` are **not** retried either: the
///      transport error goes back to the caller. A blind repeat of a PATCH would carry a version
///      the first, applied, copy already bumped and come back as a confusing version conflict; the
///      change engine instead re-reads the action and sees whether its change is already there.
/// 4. **Nothing else** is retried: 400, 403, 404, 409 and other statuses are final. A 401 is
///    handled by the token layer (one new token, one repeat), not here.
///
/// Every kind stops after `max_attempts` attempts in all (429s not counted) or when the next wait
/// would pass `max_total` since the first attempt; the last error is returned.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all for one call (the first included), counting 5xx and transport errors.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles with every retry.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// Longest `Retry-After` that is waited out; longer ends the call.
    pub max_retry_after: Duration,
    /// Longest time one call may spend, waits included.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(180),
            max_total: Duration::from_secs(600),
        }
    }
}

/// What to do about one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Give up; the error is final.
    Stop,
    /// Wait this long, then try again.
    RetryAfter(Duration),
}

/// How an attempt failed, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A response with this status.
    Status(u16),
    /// No response; `sent` is false when the connection could not even be made.
    Transport { sent: bool },
}

impl RetryPolicy {
    /// Whether a method may be sent again after its request may have reached the server.
    pub fn repeatable_after_send(method: &Method) -> bool {
        matches!(
            *method,
            Method::GET | Method::PUT | Method::HEAD | Method::OPTIONS
        )
    }

    /// The backoff before retry number `retry` (1 for the first retry), with full jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }

    /// Decides about a failed attempt that was not a 429 (429s are decided by the caller from
    /// `Retry-After`). `attempts` counts the attempts made so far (429s excluded).
    pub fn decide(&self, method: &Method, failure: Failure, attempts: u32) -> Verdict {
        let retryable = match failure {
            Failure::Status(status) => matches!(status, 502..=504),
            Failure::Transport { sent: false } => true,
            Failure::Transport { sent: true } => Self::repeatable_after_send(method),
        };
        if !retryable || attempts >= self.max_attempts {
            return Verdict::Stop;
        }
        Verdict::RetryAfter(self.backoff(attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gateway_errors_and_transport_errors_are_retried() {
        let policy = RetryPolicy::default();
        for status in [502, 503, 504] {
            assert!(matches!(
                policy.decide(&Method::PATCH, Failure::Status(status), 1),
                Verdict::RetryAfter(_)
            ));
        }
        for status in [400, 401, 403, 404, 409, 500, 501] {
            assert_eq!(
                policy.decide(&Method::GET, Failure::Status(status), 1),
                Verdict::Stop,
                "{status}"
            );
        }
    }

    #[test]
    fn writes_are_not_repeated_after_the_request_may_have_arrived() {
        let policy = RetryPolicy::default();
        let sent = Failure::Transport { sent: true };
        let unsent = Failure::Transport { sent: false };
        assert!(matches!(
            policy.decide(&Method::GET, sent, 1),
            Verdict::RetryAfter(_)
        ));
        assert!(matches!(
            policy.decide(&Method::PUT, sent, 1),
            Verdict::RetryAfter(_)
        ));
        assert_eq!(policy.decide(&Method::PATCH, sent, 1), Verdict::Stop);
        assert_eq!(policy.decide(&Method::POST, sent, 1), Verdict::Stop);
        assert!(matches!(
            policy.decide(&Method::PATCH, unsent, 1),
            Verdict::RetryAfter(_)
        ));
    }

    #[test]
    fn attempts_are_bounded() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(matches!(
            policy.decide(&Method::GET, Failure::Status(503), 2),
            Verdict::RetryAfter(_)
        ));
        assert_eq!(
            policy.decide(&Method::GET, Failure::Status(503), 3),
            Verdict::Stop
        );
    }

    #[test]
    fn backoff_grows_exponentially_within_the_ceiling() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        fastrand::seed(7);
        // Per retry number: the ceiling the doc comment promises, then the largest and the mean
        // wait of many samples.
        let ceilings = [100, 200, 400, 800, 1000, 1000];
        let mut stats = Vec::new();
        for (retry, ceiling) in (1..).zip(ceilings) {
            let waits: Vec<f64> = (0..2000)
                .map(|_| policy.backoff(retry).as_secs_f64() * 1000.0)
                .collect();
            let max = waits.iter().cloned().fold(0.0, f64::max);
            let min = waits.iter().cloned().fold(f64::MAX, f64::min);
            let mean = waits.iter().sum::<f64>() / waits.len() as f64;
            let ceiling = f64::from(ceiling);
            // Never above the ceiling (an exponent off by one, 2^n, breaks it at retry 1; a
            // missing `max_delay` at retry 5).
            assert!(max <= ceiling, "retry {retry}: {max} ms > {ceiling} ms");
            // Full jitter: the waits fill the range 0..ceiling, not a band near the top (a wait
            // of `ceiling` itself, or `ceiling/2 + jitter`, fails here).
            assert!(max > 0.95 * ceiling, "retry {retry}: max {max} ms");
            assert!(min < 0.05 * ceiling, "retry {retry}: min {min} ms");
            stats.push((retry, max, mean));
        }
        // The spread doubles from one retry to the next until the cap: a constant or linear
        // backoff (100, 200, 300 ms ...) fails from retry 2 to 3.
        for pair in stats.windows(2).take(3) {
            let ((n, max_a, mean_a), (_, max_b, mean_b)) = (pair[0], pair[1]);
            assert!(
                mean_b / mean_a > 1.8 && mean_b / mean_a < 2.2,
                "mean wait {mean_a} ms at retry {n}, then {mean_b} ms"
            );
            assert!(
                max_b > 1.8 * max_a,
                "max wait {max_a} ms at retry {n}, then {max_b} ms"
            );
        }
        // Far past the cap, still the cap.
        assert!(policy.backoff(30) <= Duration::from_millis(1000));
        assert!(policy.backoff(u32::MAX) <= Duration::from_millis(1000));
    }
}
