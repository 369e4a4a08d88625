//! The rustyline side: a `Helper` whose completion, hints and multi-line validation come from
//! `Words` and `input` (both tested without a terminal).

use rustyline::completion::{Completer, Pair};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Highlighter};

use super::core::Words;
use super::input;

#[derive(Helper, Highlighter, Default)]
pub struct DactlHelper {
    /// Refreshed from the core before each prompt.
    pub words: Words,
}

impl Completer for DactlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = self.words.complete(line, pos);
        Ok((
            start,
            found
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl Hinter for DactlHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        self.words.hint(line, pos)
    }
}

impl Validator for DactlHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if input::is_incomplete(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}
