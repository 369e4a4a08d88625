//! `backoff`: retrying a closure on retryable errors.
//!
//! The rules: an error is retried only when its map says `retryable` (429, 502/503/504, version
//! conflicts, connection errors); waits grow as `base_ms * 2^attempt`, capped at `max_ms`, with
//! "equal jitter" (a random wait between half and all of that), so many scripts retrying at once
//! do not retry in step. Ctrl-C ends the wait at once.

use std::time::{Duration, Instant};

use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, FnPtr, Map, NativeCallContext};

use crate::script::convert;
use crate::script::errors::{self, throw};
use crate::script::state;

type R<T> = Result<T, Box<EvalAltResult>>;

#[derive(Debug, Clone, Copy)]
struct Plan {
    retries: u32,
    base_ms: u64,
    max_ms: u64,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            retries: 5,
            base_ms: 500,
            max_ms: 30_000,
        }
    }
}

impl Plan {
    fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .base_ms
            .saturating_mul(1u64 << attempt.min(30))
            .min(self.max_ms);
        Duration::from_millis(full / 2 + fastrand::u64(0..=full - full / 2))
    }
}

fn run(ctx: &NativeCallContext, f: &FnPtr, plan: Plan) -> R<Dynamic> {
    let state = state::of(ctx)?;
    let mut attempt = 0;
    loop {
        match f.call_within_context::<Dynamic>(ctx, ()) {
            Ok(value) => return Ok(value),
            Err(e)
                if attempt < plan.retries
                    && errors::is_retryable(&e)
                    && !errors::is_interrupt(&e) =>
            {
                let until = Instant::now() + plan.delay(attempt);
                while Instant::now() < until {
                    if state.interrupted() {
                        return Err(EvalAltResult::ErrorTerminated(
                            "interrupted".into(),
                            Position::NONE,
                        )
                        .into());
                    }
                    std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
                }
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[export_module]
pub mod retry_functions {
    /// Calls `f`, retrying it after growing waits while it throws retryable errors. Retryable:
    /// 429, 502/503/504, version conflict, connection (the error map's `retryable`). Up to 5
    /// retries, 500 ms doubling to at most 30 s, with jitter. Returns `f`'s value or throws its
    /// last error.
    ///
    /// Example: `let a = backoff(|| fetch_action("c0ffee00-0000-4000-8000-000000000001"));`
    #[rhai_fn(name = "backoff", return_raw)]
    pub fn backoff_default(ctx: NativeCallContext, f: FnPtr) -> R<Dynamic> {
        run(&ctx, &f, Plan::default())
    }

    /// `backoff` with options `#{retries, base_ms, max_ms}`. Each is optional; the defaults are
    /// 5, 500 and 30000.
    ///
    /// Example: `backoff(|| update_timeout(id, 30), #{retries: 3, base_ms: 200, max_ms: 2000});`
    #[rhai_fn(name = "backoff", return_raw)]
    pub fn backoff_with(ctx: NativeCallContext, f: FnPtr, options: Map) -> R<Dynamic> {
        const F: &str = "backoff";
        convert::check_keys(F, &options, &["retries", "base_ms", "max_ms"])?;
        let mut plan = Plan::default();
        let bounded = |key: &str, v: i64, max: i64| -> R<u64> {
            if (0..=max).contains(&v) {
                Ok(v as u64)
            } else {
                throw(
                    "invalid.argument",
                    format!("The `{key}` option of `backoff` must be from 0 to {max}, not `{v}`."),
                )
            }
        };
        if let Some(v) = convert::opt_int_option(F, &options, "retries")? {
            plan.retries = bounded("retries", v, 100)? as u32;
        }
        if let Some(v) = convert::opt_int_option(F, &options, "base_ms")? {
            plan.base_ms = bounded("base_ms", v, 600_000)?;
        }
        if let Some(v) = convert::opt_int_option(F, &options, "max_ms")? {
            plan.max_ms = bounded("max_ms", v, 600_000)?;
        }
        if plan.max_ms < plan.base_ms {
            plan.max_ms = plan.base_ms;
        }
        run(&ctx, &f, plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_the_cap() {
        let plan = Plan {
            retries: 10,
            base_ms: 100,
            max_ms: 1000,
        };
        for attempt in 0..10 {
            let full = (100u64 << attempt).min(1000);
            let d = plan.delay(attempt).as_millis() as u64;
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms");
        }
    }
}
