//! What a doctor run found, as values: each check's step, the counts, the cost estimate.

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::change::stats::ActionStats;
use crate::change::{ActionInfo, Engine, EngineOptions, Kind};
use crate::genesys::actions::{IDS_PER_REQUEST, PAGE_SIZE};
use crate::genesys::models::ActionConfig;
use crate::genesys::{Client, ClientOptions};
use crate::platform::variants::VARIANTS;
use crate::session::Session;

use super::*;

/// One check's outcome: its finding, why it failed, or why it was not made.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Step<T> {
    Done(T),
    Failed { error: String },
    Skipped { skipped: String },
}

impl<T> Step<T> {
    pub(crate) fn skipped(why: &str) -> Step<T> {
        Step::Skipped {
            skipped: why.to_owned(),
        }
    }

    pub fn done(&self) -> Option<&T> {
        match self {
            Step::Done(value) => Some(value),
            _ => None,
        }
    }
}

/// Where dactl connects, as resolved from the flags, environment and profile.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    /// `None` for a local base URL (a sandbox).
    pub region: Option<String>,
    pub api_host: String,
    pub login_host: String,
    /// `client credentials` or `access token`.
    pub credentials: &'static str,
    /// The OAuth client id (not a secret); `None` with a ready-made access token.
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Token {
    /// `None` for a ready-made access token, whose lifetime dactl cannot know.
    pub lifetime_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadCheck {
    pub ok: bool,
    pub checked_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Permissions {
    pub read: Step<ReadCheck>,
    pub edit: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub standard: usize,
    #[serde(rename = "static")]
    pub static_: usize,
    pub custom_auth: usize,
    pub function: usize,
}

impl KindCounts {
    pub(crate) fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Standard => self.standard += 1,
            Kind::Static => self.static_ += 1,
            Kind::CustomAuth => self.custom_auth += 1,
            Kind::Function => self.function += 1,
        }
    }

    pub(crate) fn of(kinds: impl Iterator<Item = Kind>) -> KindCounts {
        let mut counts = KindCounts::default();
        kinds.for_each(|kind| counts.add(kind));
        counts
    }
}

impl KindCounts {
    /// `standard 1 · function 1`: only the kinds present (`none` when none is).
    pub(crate) fn present(&self) -> String {
        let all = [
            ("standard", self.standard),
            ("static", self.static_),
            ("custom_auth", self.custom_auth),
            ("function", self.function),
        ];
        let present: Vec<String> = all
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        if present.is_empty() {
            "none".to_owned()
        } else {
            present.join(" · ")
        }
    }
}

impl fmt::Display for KindCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "standard {} · static {} · custom_auth {} · function {}",
            self.standard, self.static_, self.custom_auth, self.function
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrationCount {
    pub id: String,
    /// `None` when the integrations listing does not have it.
    pub name: Option<String>,
    pub type_id: Option<String>,
    pub actions: usize,
}

/// Templates counted one by one (an action has up to two): text in the config, or only a URI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TemplateCounts {
    pub inline: usize,
    pub uri_only: usize,
}

impl TemplateCounts {
    pub(crate) fn add(&mut self, config: &ActionConfig) {
        let sections = [
            (&config.request, "requestTemplate", "requestTemplateUri"),
            (&config.response, "successTemplate", "successTemplateUri"),
        ];
        for (section, text_key, uri_key) in sections {
            let Some(section) = section else { continue };
            if section.get(text_key).is_some_and(|v| v.is_string()) {
                self.inline += 1;
            } else if section.get(uri_key).is_some_and(|v| v.is_string()) {
                self.uri_only += 1;
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionCounts {
    /// Every action, custom authentication actions included.
    pub total: usize,
    pub by_kind: KindCounts,
    pub by_integration: Vec<IntegrationCount>,
    /// Standard actions whose config has no `timeoutSeconds`.
    pub unset_timeouts: usize,
    pub templates: TemplateCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftSeen {
    pub id: String,
    pub name: Option<String>,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drafts {
    pub total: usize,
    pub by_kind: KindCounts,
    pub list: Vec<DraftSeen>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub median_ms: f64,
    pub samples_ms: Vec<f64>,
    pub request: &'static str,
}

/// The requests "set every standard action to one timeout" costs, as the change engine spends
/// them: the listing's pages (100 actions each, config included), the integrations listing (to
/// classify), per standard action one PATCH plus one read per template its config names only by
/// URI (the text must be sent back, or the platform substitutes its default), the read-back (50
/// ids per read), and the first-write check's template reads. Unset actions are counted in: a
/// change of every action includes them when asked to. Function data actions are apart: each
/// costs a draft cycle.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub standard_actions: usize,
    pub requests: u64,
    pub listing_pages: u64,
    pub integrations_listing: u64,
    pub patches: u64,
    pub template_reads: u64,
    pub verify_reads: u64,
    pub first_write_check_reads: u64,
    pub rate_per_minute: u32,
    /// Tokens in the pool (each with its own `rate_per_minute`).
    pub tokens: usize,
    pub minutes: f64,
    pub function_actions: usize,
    pub function_requests_each: u64,
    pub function_requests: u64,
    pub function_minutes: f64,
}

impl Estimate {
    /// The cost of setting every standard action of `actions`, at `rate_per_minute` on each of
    /// `tokens` tokens.
    pub(crate) fn of(
        actions: &[ActionInfo],
        integrations: usize,
        rate_per_minute: u32,
        tokens: usize,
    ) -> Estimate {
        let standard: Vec<&ActionInfo> = actions
            .iter()
            .filter(|a| a.kind == Kind::Standard)
            .collect();
        // The listing a change reads has no custom authentication actions.
        let listed = actions
            .iter()
            .filter(|a| a.kind != Kind::CustomAuth)
            .count() as u64;
        let n = standard.len() as u64;
        let listing_pages = listed.div_ceil(u64::from(PAGE_SIZE)).max(1);
        let integrations_listing = (integrations as u64).div_ceil(u64::from(PAGE_SIZE)).max(1);
        let uri_only = |a: &&ActionInfo| {
            a.action.config.as_ref().map_or(0, |c| {
                u64::from(c.request_template_uri_only().is_some())
                    + u64::from(c.success_template_uri_only().is_some())
            })
        };
        let template_reads: u64 = standard.iter().map(uri_only).sum();
        let verify_reads = n.div_ceil(IDS_PER_REQUEST as u64);
        let first_write_check_reads = standard
            .first()
            .map_or(0, |first| CANARY_READS + uri_only(first));
        let requests = listing_pages
            + integrations_listing
            + n
            + template_reads
            + verify_reads
            + first_write_check_reads;
        let function_actions = actions.iter().filter(|a| a.kind == Kind::Function).count();
        let function_requests = function_actions as u64 * FUNCTION_REQUESTS_EACH;
        Estimate {
            standard_actions: standard.len(),
            requests,
            listing_pages,
            integrations_listing,
            patches: n,
            template_reads,
            verify_reads,
            first_write_check_reads,
            rate_per_minute,
            tokens,
            minutes: minutes(requests, rate_per_minute, tokens),
            function_actions,
            function_requests_each: FUNCTION_REQUESTS_EACH,
            function_requests,
            function_minutes: minutes(function_requests, rate_per_minute, tokens),
        }
    }
}

/// One action in a list of the executions section.
#[derive(Debug, Clone, Serialize)]
pub struct ActionExecutions {
    pub id: String,
    pub name: Option<String>,
    /// `timeoutSeconds`, or 60 when unset.
    pub effective_timeout: u32,
    pub executions: u64,
    /// Executions at or over `effective_timeout × 1000 − 50` ms.
    pub timeouts: u64,
    pub p99_ms: Option<u32>,
    /// The p99 was estimated from the answers' counts, not given by the platform.
    pub p99_estimated: bool,
}

impl ActionExecutions {
    fn of(stats: &ActionStats) -> ActionExecutions {
        ActionExecutions {
            id: stats.id.clone(),
            name: stats.name.clone(),
            effective_timeout: stats.effective_timeout,
            executions: stats.executions,
            timeouts: stats.timeouts,
            p99_ms: stats.p99_ms,
            p99_estimated: stats.p99_estimated,
        }
    }

    /// The p99 as a fraction of the effective timeout (0 without a p99).
    pub fn p99_of_timeout(&self) -> f64 {
        self.p99_ms.map_or(0.0, |p99| {
            f64::from(p99) / (f64::from(self.effective_timeout) * 1000.0)
        })
    }
}

/// Every action's executions over the last [`STATS_DAYS`] days, from the analytics aggregates
/// query (`Engine::action_stats`).
#[derive(Debug, Clone, Serialize)]
pub struct Executions {
    pub days: u32,
    /// The window read: `start/end`, ISO-8601 UTC.
    pub window: String,
    /// Actions asked about: every action of the listing, custom authentication ones included.
    pub actions: usize,
    /// Actions with at least one execution.
    pub actions_executed: usize,
    pub executions: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Every action with a timeout, most timeouts first (the table shows [`LISTED`]).
    pub timed_out: Vec<ActionExecutions>,
    /// `p99 >= near_fraction × timeout`: every such action, the closest first.
    pub near_timeout: Vec<ActionExecutions>,
    pub near_fraction: f64,
    /// Actions whose p99 (and p95) the platform gave, not estimated.
    pub p99_given: usize,
    pub p95_given: usize,
    /// Analytics queries the section sent (retries included): the client's count.
    pub queries: u64,
}

impl Executions {
    /// The section from `stats`, which cost `queries` queries.
    pub(crate) fn of(stats: &[ActionStats], days: u32, queries: u64) -> Executions {
        let mut timed_out: Vec<ActionExecutions> = stats
            .iter()
            .filter(|s| s.timeouts > 0)
            .map(ActionExecutions::of)
            .collect();
        timed_out.sort_by(|a, b| b.timeouts.cmp(&a.timeouts).then(a.id.cmp(&b.id)));
        let mut near_timeout: Vec<ActionExecutions> = stats
            .iter()
            .filter(|s| {
                s.p99_ms.is_some_and(|p99| {
                    f64::from(p99) >= NEAR_TIMEOUT * f64::from(s.effective_timeout) * 1000.0
                })
            })
            .map(ActionExecutions::of)
            .collect();
        near_timeout.sort_by(|a, b| {
            b.p99_of_timeout()
                .total_cmp(&a.p99_of_timeout())
                .then(a.id.cmp(&b.id))
        });
        let ran = || stats.iter().filter(|s| s.executions > 0);
        Executions {
            days,
            window: stats.first().map(|s| s.window.clone()).unwrap_or_default(),
            actions: stats.len(),
            actions_executed: ran().count(),
            executions: stats.iter().map(|s| s.executions).sum(),
            errors: stats.iter().map(|s| s.errors).sum(),
            timeouts: stats.iter().map(|s| s.timeouts).sum(),
            timed_out,
            near_timeout,
            near_fraction: NEAR_TIMEOUT,
            p99_given: ran()
                .filter(|s| s.p99_ms.is_some() && !s.p99_estimated)
                .count(),
            p95_given: ran().filter(|s| s.p95_ms.is_some()).count(),
            queries,
        }
    }

    /// The `percentiles` variant these answers show: `present` when any answer gave a p99,
    /// `absent` when actions executed and none did, unseen when nothing executed.
    pub(crate) fn percentiles(&self) -> (Option<&'static str>, String) {
        if self.p99_given > 0 {
            (
                Some("present"),
                format!(
                    "the aggregates answers gave p99 for {} and p95 for {} of the {} actions that executed",
                    self.p99_given, self.p95_given, self.actions_executed
                ),
            )
        } else if self.actions_executed > 0 {
            (
                Some("absent"),
                format!(
                    "no aggregates answer gave p95 or p99, for any of the {} actions that executed \
                     (dactl estimates the p99 from counts)",
                    self.actions_executed
                ),
            )
        } else {
            (
                None,
                format!(
                    "not seen: no action executed in the last {} days",
                    self.days
                ),
            )
        }
    }
}

/// The executions section when the analytics query was refused (or failed otherwise): a finding,
/// not a failure of doctor; every other section stands.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionsRefused {
    /// What happened and how to fix it, as a sentence or two.
    pub refused: String,
    /// The platform's status, code and message, verbatim (`None` without an answer).
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    /// The permissions the query needs: any one of them.
    pub permissions: &'static [&'static str],
    /// Analytics queries sent before the refusal ended the section (retries included).
    pub queries: u64,
}

/// The executions section: read, refused, or not attempted.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ExecutionsStep {
    Read(Executions),
    Refused(ExecutionsRefused),
    Skipped { skipped: String },
}

/// One platform variant as the org showed it: its value (one of `VARIANTS`' values), or `None`
/// when it could not be seen, and how it was seen.
#[derive(Debug, Clone)]
pub struct VariantSeen {
    pub option: &'static str,
    pub value: Option<String>,
    pub seen: String,
}

/// Serialized as one object keyed by option, in `VARIANTS` order.
#[derive(Debug, Clone)]
pub struct VariantsSeen(pub Vec<VariantSeen>);

impl Serialize for VariantsSeen {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for v in &self.0 {
            map.serialize_entry(
                v.option,
                &serde_json::json!({ "value": v.value, "seen": v.seen }),
            )?;
        }
        map.end()
    }
}

impl VariantsSeen {
    /// Every option unseen, for `why`.
    pub(crate) fn unseen(why: &str) -> VariantsSeen {
        VariantsSeen(
            VARIANTS
                .iter()
                .map(|doc| VariantSeen {
                    option: doc.option,
                    value: None,
                    seen: why.to_owned(),
                })
                .collect(),
        )
    }

    pub(crate) fn set(&mut self, option: &str, value: Option<&str>, seen: impl Into<String>) {
        if let Some(v) = self.0.iter_mut().find(|v| v.option == option) {
            v.value = value.map(str::to_owned);
            v.seen = seen.into();
        }
    }

    /// `--sandbox-variant templates=uri,...` for the values seen, if any.
    pub fn reproduce(&self) -> Option<String> {
        let pairs: Vec<String> = self
            .0
            .iter()
            .filter_map(|v| Some(format!("{}={}", v.option, v.value.as_ref()?)))
            .collect();
        (!pairs.is_empty()).then(|| format!("--sandbox-variant {}", pairs.join(",")))
    }
}

/// Everything a doctor run found.
#[derive(Debug, Clone, Serialize)]
pub struct Findings {
    pub connection: Connection,
    pub token: Step<Token>,
    pub permissions: Permissions,
    pub actions: Step<ActionCounts>,
    pub drafts: Step<Drafts>,
    pub latency: Step<Latency>,
    pub estimate: Step<Estimate>,
    /// Executions over the last [`STATS_DAYS`] days. A refused query is not a problem: doctor
    /// still exits 0 for it.
    pub executions: ExecutionsStep,
    pub variants: VariantsSeen,
    /// `--sandbox-variant ...` with the values seen.
    pub reproduce: Option<String>,
    /// What failed, one sentence each; empty when every check passed (exit 0).
    pub problems: Vec<String>,
}

pub(crate) const AUTH_FAILED: &str = "not checked: authentication failed";
pub(crate) const READ_FAILED: &str = "not checked: the read check failed";

impl Findings {
    /// Runs every check on the session's org (reads and token requests only).
    pub fn gather(session: &Session) -> Findings {
        let configured = session.engine().client().options();
        // The checks go on one token: a dozen reads need no pool, and the org sees one login
        // (and the failed one made on purpose). The estimate still counts the configured pool.
        let one_token = ClientOptions {
            tokens: 1,
            ..configured.clone()
        };
        let pool_size = configured.pool_size();
        session.runtime().block_on(async {
            match Client::new(one_token) {
                Ok(client) => {
                    let probe = Engine::new(
                        client,
                        EngineOptions {
                            dry_run: true,
                            ..EngineOptions::default()
                        },
                    );
                    super::probe::gather(&probe, pool_size).await
                }
                Err(_) => super::probe::gather(session.engine(), pool_size).await,
            }
        })
    }

    /// Every check passed (the failed login made on purpose is not a failure).
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The findings as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
