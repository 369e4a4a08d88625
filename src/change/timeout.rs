//! `Timeout`: what a user may write for `config.timeoutSeconds`, checked once.
//!
//! The platform stores whole seconds, 1 to 60 (function settings: 1 to 15). People who learned
//! from the wrong tutorials think in milliseconds, so a value like `5000` gets an error that says
//! the unit is seconds and how to write milliseconds. Nothing is ever rounded or clamped: a value
//! that is not a whole number of seconds in range is an error that names the input and the fix.

use std::fmt;

/// Largest `config.timeoutSeconds` the platform accepts.
pub const MAX_SECONDS: u32 = 60;
/// Largest function-settings timeout of a function data action.
pub const MAX_FUNCTION_SECONDS: u32 = 15;
/// A function data action's function timeout when none is set (documented).
pub const FUNCTION_DEFAULT_SECONDS: i64 = 15;

/// A checked timeout in whole seconds, 1..=60 (see `Timeout::parse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout(pub u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct TimeoutError {
    pub message: String,
}

fn error(message: String) -> TimeoutError {
    TimeoutError { message }
}

const HOW: &str =
    "write a whole number of seconds from 1 to 60, e.g. `30`, \"30s\", \"45000ms\" or \"1m\"";

/// The unit a number was written in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// No unit: seconds.
    Bare,
    Seconds,
    Millis,
    Minutes,
}

impl Timeout {
    /// From text: `30`, `"30s"`, `"45000ms"`, `"1m"` (surrounding space ignored, units in any
    /// case). Errors name the input and the fix.
    pub fn parse(text: &str) -> Result<Timeout, TimeoutError> {
        let input = text.trim();
        if input.is_empty() {
            return Err(error(format!("An empty timeout is not valid: {HOW}.")));
        }
        let split = input
            .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '+' || c == '.'))
            .unwrap_or(input.len());
        let (number, unit_text) = input.split_at(split);
        let unit = match unit_text.trim().to_ascii_lowercase().as_str() {
            "" => Unit::Bare,
            "s" => Unit::Seconds,
            "ms" => Unit::Millis,
            "m" => Unit::Minutes,
            other => {
                return Err(error(format!(
                    "`{input}` is not a valid timeout: the unit `{other}` is unknown (use s, ms or m); {HOW}."
                )));
            }
        };
        if number.is_empty() {
            return Err(error(format!(
                "`{input}` is not a valid timeout: it has no number; {HOW}."
            )));
        }
        if number.contains('.') {
            if number.parse::<f64>().is_err() {
                return Err(error(format!("`{input}` is not a valid timeout: {HOW}.")));
            }
            return Err(error(format!(
                "`{input}` is not a valid timeout: timeouts are whole seconds and are never rounded; {HOW}."
            )));
        }
        let value: i128 = match number.parse::<i128>() {
            Ok(v) => v,
            // Only digits and signs got here, so a failure is either a stray sign or a huge number.
            Err(_)
                if number
                    .trim_start_matches(['-', '+'])
                    .chars()
                    .all(|c| c.is_ascii_digit())
                    && number.len() > 30 =>
            {
                return Err(error(format!(
                    "`{input}` is not a valid timeout: it is far over the limit of 60 seconds."
                )));
            }
            Err(_) => return Err(error(format!("`{input}` is not a valid timeout: {HOW}."))),
        };
        match unit {
            Unit::Bare => Self::check_seconds(value, input),
            Unit::Seconds => {
                if value > i128::from(MAX_SECONDS) {
                    return Err(error(format!(
                        "`{input}` is not a valid timeout: timeouts are 1 to 60 seconds."
                    )));
                }
                Self::check_seconds(value, input)
            }
            Unit::Millis => {
                if value <= 0 {
                    return Self::check_seconds(value, input);
                }
                if value % 1000 != 0 {
                    return Err(error(format!(
                        "`{input}` is not a whole number of seconds: timeouts are whole seconds (1 to 60) and are never rounded; {HOW}."
                    )));
                }
                let seconds = value / 1000;
                if seconds > i128::from(MAX_SECONDS) {
                    return Err(error(format!(
                        "`{input}` is {seconds} s: timeouts are 1 to 60 seconds."
                    )));
                }
                Self::check_seconds(seconds, input)
            }
            Unit::Minutes => {
                if value > 1 {
                    return Err(error(format!(
                        "`{input}` is not a valid timeout: timeouts are 1 to 60 seconds, so `1m` is the most."
                    )));
                }
                Self::check_seconds(value * 60, input)
            }
        }
    }

    /// From an integer (seconds).
    pub fn from_seconds(seconds: i64) -> Result<Timeout, TimeoutError> {
        Self::check_seconds(i128::from(seconds), &seconds.to_string())
    }

    /// The rule shared by every path: whole seconds, 1..=60. `input` is what the user wrote.
    fn check_seconds(value: i128, input: &str) -> Result<Timeout, TimeoutError> {
        if value <= 0 {
            return Err(error(format!(
                "`{input}` is not a valid timeout: timeouts are 1 to 60 seconds and must be positive."
            )));
        }
        if value > i128::from(MAX_SECONDS) {
            let mut message =
                format!("`{input}` is not a valid timeout: timeouts are in seconds, 1 to 60.");
            if value % 1000 == 0 && value / 1000 <= i128::from(MAX_SECONDS) {
                let ms_seconds = value / 1000;
                message.push_str(&format!(
                    " If you meant milliseconds, write \"{value}ms\" ({ms_seconds} s)."
                ));
            } else if value >= 1000 {
                message.push_str(&format!(
                    " Milliseconds need the unit, e.g. \"5000ms\" means 5 s; \"{value}ms\" would not be 1 to 60 whole seconds."
                ));
            } else {
                message.push_str(" Milliseconds need the unit: \"5000ms\" means 5 s.");
            }
            return Err(error(message));
        }
        // In range, so it fits.
        Ok(Timeout(value as u32))
    }

    /// Function data actions take 1..=15 s in their function settings.
    pub fn check_function(&self) -> Result<(), TimeoutError> {
        if self.0 > MAX_FUNCTION_SECONDS {
            return Err(error(format!(
                "{} s is over the limit for a function data action: its function timeout is 1 to 15 seconds.",
                self.0
            )));
        }
        Ok(())
    }

    pub fn seconds(&self) -> u32 {
        self.0
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(text: &str) -> String {
        Timeout::parse(text).expect_err(text).message
    }

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(Timeout::parse("30"), Ok(Timeout(30)));
        assert_eq!(Timeout::parse(" 30s "), Ok(Timeout(30)));
        assert_eq!(Timeout::parse("30S"), Ok(Timeout(30)));
        assert_eq!(Timeout::parse("45000ms"), Ok(Timeout(45)));
        assert_eq!(Timeout::parse("45000 MS"), Ok(Timeout(45)));
        assert_eq!(Timeout::parse("1m"), Ok(Timeout(60)));
        assert_eq!(Timeout::parse("1"), Ok(Timeout(1)));
        assert_eq!(Timeout::parse("60"), Ok(Timeout(60)));
        assert_eq!(Timeout::from_seconds(60), Ok(Timeout(60)));
        assert_eq!(Timeout::from_seconds(1), Ok(Timeout(1)));
    }

    #[test]
    fn zero_and_negatives_are_errors() {
        for text in ["0", "-1", "-30", "0s", "0ms", "-5000ms", "0m", "-1m"] {
            let message = err(text);
            assert!(message.contains(&format!("`{text}`")), "{message}");
            assert!(message.contains("1 to 60"), "{message}");
        }
        assert!(
            Timeout::from_seconds(0)
                .unwrap_err()
                .message
                .contains("`0`")
        );
        assert!(
            Timeout::from_seconds(-7)
                .unwrap_err()
                .message
                .contains("`-7`")
        );
    }

    #[test]
    fn milliseconds_without_a_unit_explain_the_unit() {
        let message = err("5000");
        assert_eq!(
            message,
            "`5000` is not a valid timeout: timeouts are in seconds, 1 to 60. If you meant milliseconds, write \"5000ms\" (5 s)."
        );
        assert_eq!(Timeout::from_seconds(5000).unwrap_err().message, message);
        assert!(err("30000").contains("\"30000ms\" (30 s)"));
    }

    #[test]
    fn over_the_limit_is_an_error_that_names_seconds() {
        for text in [
            "61",
            "90",
            "1500",
            "120000",
            "61s",
            "61000ms",
            "2m",
            "99999999999999999999999999999999999",
        ] {
            let message = err(text);
            assert!(message.contains(&format!("`{text}`")), "{message}");
            assert!(message.contains("60"), "{message}");
        }
        assert!(err("61").contains("seconds"));
        assert!(err("90").contains("\"5000ms\" means 5 s"));
        assert!(Timeout::from_seconds(61).is_err());
        assert!(Timeout::from_seconds(i64::MAX).is_err());
        assert!(Timeout::from_seconds(i64::MIN).is_err());
    }

    #[test]
    fn fractions_are_never_rounded() {
        for text in [
            "1.5", "1.5s", "1500ms", "30.0", "0.5", "999ms", "1001ms", ".5",
        ] {
            let message = err(text);
            assert!(message.contains(&format!("`{text}`")), "{message}");
            assert!(message.contains("whole"), "{message}");
        }
    }

    #[test]
    fn empty_and_garbage_are_errors() {
        assert!(err("").contains("empty"));
        assert!(err("   ").contains("empty"));
        for text in [
            "abc",
            "30x",
            "1h",
            "s",
            "ms",
            "--5",
            "3-0",
            "1..5",
            "30 seconds",
            "+",
        ] {
            let message = err(text);
            assert!(message.contains(&format!("`{text}`")), "{message}");
            assert!(message.contains("1 to 60"), "{message}");
        }
    }

    #[test]
    fn function_timeouts_are_one_to_fifteen() {
        assert_eq!(Timeout(15).check_function(), Ok(()));
        assert_eq!(Timeout(1).check_function(), Ok(()));
        let message = Timeout(16).check_function().unwrap_err().message;
        assert!(message.contains("1 to 15"), "{message}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = Timeout::parse(&text);
        }

        #[test]
        fn accepts_exactly_one_to_sixty(n in -100_000i64..100_000) {
            let parsed = Timeout::parse(&n.to_string());
            prop_assert_eq!(parsed.is_ok(), (1..=60).contains(&n));
            prop_assert_eq!(Timeout::from_seconds(n).is_ok(), (1..=60).contains(&n));
            if let Ok(t) = parsed {
                prop_assert_eq!(i64::from(t.0), n);
            }
            let secs = Timeout::parse(&format!("{n}s"));
            prop_assert_eq!(secs.is_ok(), (1..=60).contains(&n));
            let ms = Timeout::parse(&format!("{n}ms"));
            prop_assert_eq!(ms.is_ok(), n % 1000 == 0 && (1..=60).contains(&(n / 1000)));
        }

        #[test]
        fn number_like_text_is_accepted_only_in_range(text in "[-+0-9.]{0,8}(s|ms|m|)") {
            if let Ok(t) = Timeout::parse(&text) {
                prop_assert!((1..=60).contains(&t.0));
            }
        }
    }
}
