//! What a run did, told to people: on stderr at the end of every run (`summary`), as JSON with
//! `--json` (`summary` too), and as a file for a change-approval board with `--report FILE`
//! (`document`, drawn by `markdown` or `html`).
//!
//! - `reasons`: skipped and failed changes grouped by why, each reason said once with its count
//!   and fix; the grouping key (`reasons::reason_key`) leaves out action and correlation ids.
//! - `summary`: `Report`, the stderr table (a short status per action, capped on a terminal),
//!   the counts and the reasons; and the `--json` report.
//! - `document`: `ChangeReport`, the run's changes with their context (org, when, who, journal,
//!   undo command), and what a page shows of them (counts by kind and category, before → after
//!   rows, the histogram of timeouts).
//! - `markdown`, `html`: a `ChangeReport` as a `.md` file or one self-contained `.html` page.
//!
//! One module, split by what each part draws, because all of them show the same facts: a status
//! added to `Status` shows up in every one of them without a change here (statuses are counted,
//! grouped and labelled by their name; only "sets a timeout" is a list, `summary::sets_timeout`).

mod doctor;
pub mod document;
mod html;
mod markdown;
pub mod reasons;
pub mod stats;
pub mod summary;
pub mod values;

pub use document::{ChangeReport, Context, Format, ReportError, shell_word};
pub use summary::Report;
