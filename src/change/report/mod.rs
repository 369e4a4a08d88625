//! What a run did, told to people: on stderr at the end of every run and as JSON with `--json`.
//!
//! - `reasons`: skipped and failed changes grouped by why, each reason said once with its count
//!   and fix; the grouping key (`reasons::reason_key`) leaves out action and correlation ids.
//! - `summary`: `Report`, the stderr table (a short status per action, capped on a terminal),
//!   the counts and the reasons; and the `--json` report.
//!
//! Statuses are counted, grouped and labelled by their name, so a status added to `Status` shows
//! up here without a change (only "sets a timeout" is a list, `summary::sets_timeout`).

pub mod reasons;
pub mod summary;

pub use summary::Report;
