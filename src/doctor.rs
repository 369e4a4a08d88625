//! `dactl doctor`: what a doctor run finds about an org, without changing anything.
//!
//! A [`Findings`] value is built by one async pass over the session's client ([`Findings::gather`])
//! and shown as a sectioned table ([`fmt::Display`]) or as one JSON object ([`Findings::to_json`]),
//! the same findings either way. It is meant for the first contact with a real org and for bug
//! reports, so it must be safe to paste: it holds no secret, no token and no template text (it
//! counts templates, it never keeps their text), only hosts, the client id, counts, ids, names and
//! the server's error messages.
//!
//! What it sends, in order (reads and token requests only: no PATCH, POST, PUT or DELETE to
//! `/api/v2`):
//! 1. one token request for the configured client (the token's lifetime, or the exact failure,
//!    whose message says how to fix it). When it fails, nothing else is sent: every other check
//!    would fail the same way. The region and hosts are still shown; exit 1.
//! 2. five light reads, `GET .../actions?pageSize=1`: the first is the read-permission check
//!    and shows which paging fields a listing carries; all five give the round trip (median).
//!    The client's rate limiter spaces requests (`60 / --rate` s apart), so each read waits that
//!    long after the previous one finished and the time measured is the round trip, not the
//!    limiter's wait.
//! 3. the listing with config and custom authentication actions, classified as every command
//!    classifies (`Engine::list_actions`: a second, config-less listing and the integrations
//!    listing); the integrations listing again for names (the classifier keeps only types);
//!    the drafts listing (`GET .../actions/drafts`).
//! 4. one token request with a made-up client id and a random secret, on purpose: how the login
//!    host refuses bad credentials (400 or 401) is one of the platform's unconfirmed behaviours.
//!    The output says this failed login was made on purpose. Skipped when step 1 already failed
//!    with `invalid_client`, which shows the same thing.
//!
//! Edit permission cannot be checked without a write (the API has no dry-run PATCH), so the
//! findings say where to look instead. The same holds for two of the platform variants
//! (`conflict-status`, `template-on-missing`); the others are named with the values of
//! `sandbox::variants::VARIANTS`, so `--sandbox-variant` can reproduce the org.
//!
//! The cost estimate is the request budget of "set every standard action" as the change engine
//! spends it (see [`Estimate`]); its time is [`minutes`] of (requests, rate), the least time the
//! rate limit allows.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::change::{ActionInfo, Classifier, Engine, EngineOptions, Kind};
use crate::genesys::models::{ActionConfig, EntityListing, Integration};
use crate::genesys::{ActionQuery, Client, ClientOptions, Credentials, Error};
use crate::sandbox::variants::VARIANTS;
use crate::secret::Secret;
use crate::session::Session;

/// Where a missing edit permission is fixed; the findings say it because it cannot be tested.
pub const EDIT_PERMISSION: &str = "Edit permission cannot be checked without a write, and doctor \
    writes nothing. Check it in Admin > Roles / Permissions: the role of this OAuth client needs \
    `integrations:action:edit` (and `integrations:actionFunction:edit` for function data actions).";

/// What a variant that only a write would show says.
pub const NOT_VISIBLE: &str = "not visible without a write";

/// What the `percentiles` variant says: doctor does not query execution statistics (yet).
pub const STATS_NOT_READ: &str = "not checked: doctor does not query execution statistics";

/// Light reads timed for the round trip.
pub const LATENCY_READS: usize = 5;

/// Reads the canary (the run's first write, see `change::canary`) adds: its action read whole
/// before and after the write. Its templates named only by URI are read once more on top.
pub const CANARY_READS: u64 = 2;

/// Requests one function data action's timeout change costs: read the published version, create
/// the draft, read and put its function settings, validate, read the version again, publish, and
/// read the settings back.
pub const FUNCTION_REQUESTS_EACH: u64 = 8;

/// The least time `requests` take at `rate_per_minute` on each of `tokens` tokens, in minutes:
/// what the rate limits allow (the platform counts its limit per token).
pub fn minutes(requests: u64, rate_per_minute: u32, tokens: usize) -> f64 {
    requests as f64 / (f64::from(rate_per_minute.max(1)) * tokens.max(1) as f64)
}

/// One check's outcome: its finding, why it failed, or why it was not made.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Step<T> {
    Done(T),
    Failed { error: String },
    Skipped { skipped: String },
}

impl<T> Step<T> {
    fn skipped(why: &str) -> Step<T> {
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
    fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Standard => self.standard += 1,
            Kind::Static => self.static_ += 1,
            Kind::CustomAuth => self.custom_auth += 1,
            Kind::Function => self.function += 1,
        }
    }

    fn of(kinds: impl Iterator<Item = Kind>) -> KindCounts {
        let mut counts = KindCounts::default();
        kinds.for_each(|kind| counts.add(kind));
        counts
    }
}

impl KindCounts {
    /// `standard 1 · function 1`: only the kinds present (`none` when none is).
    fn present(&self) -> String {
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
    fn add(&mut self, config: &ActionConfig) {
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
    fn of(
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
        let listing_pages = listed.div_ceil(100).max(1);
        let integrations_listing = (integrations as u64).div_ceil(100).max(1);
        let uri_only = |a: &&ActionInfo| {
            a.action.config.as_ref().map_or(0, |c| {
                u64::from(c.request_template_uri_only().is_some())
                    + u64::from(c.success_template_uri_only().is_some())
            })
        };
        let template_reads: u64 = standard.iter().map(uri_only).sum();
        let verify_reads = n.div_ceil(50);
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
    fn unseen(why: &str) -> VariantsSeen {
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

    fn set(&mut self, option: &str, value: Option<&str>, seen: impl Into<String>) {
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
    pub variants: VariantsSeen,
    /// `--sandbox-variant ...` with the values seen.
    pub reproduce: Option<String>,
    /// What failed, one sentence each; empty when every check passed (exit 0).
    pub problems: Vec<String>,
}

const AUTH_FAILED: &str = "not checked: authentication failed";
const READ_FAILED: &str = "not checked: the read check failed";

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
                    gather(&probe, pool_size).await
                }
                Err(_) => gather(session.engine(), pool_size).await,
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

fn host(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn connection(client: &Client) -> Connection {
    let target = client.target();
    let (credentials, client_id) = match &client.options().credentials {
        Credentials::ClientCredentials { client_id, .. } => {
            ("client credentials", Some(client_id.clone()))
        }
        Credentials::AccessToken(_) => ("access token", None),
    };
    Connection {
        region: target.region.clone(),
        api_host: host(&target.api_base),
        login_host: host(&target.login_base),
        credentials,
        client_id,
    }
}

/// `pool_size`: the tokens a change would use, for the estimate.
async fn gather(engine: &Engine, pool_size: usize) -> Findings {
    let client = engine.client();
    let mut findings = Findings {
        connection: connection(client),
        token: Step::skipped(AUTH_FAILED),
        permissions: Permissions {
            read: Step::skipped(AUTH_FAILED),
            edit: EDIT_PERMISSION,
        },
        actions: Step::skipped(AUTH_FAILED),
        drafts: Step::skipped(AUTH_FAILED),
        latency: Step::skipped(AUTH_FAILED),
        estimate: Step::skipped(AUTH_FAILED),
        variants: VariantsSeen::unseen(AUTH_FAILED),
        reproduce: None,
        problems: Vec::new(),
    };
    for option in ["conflict-status", "template-on-missing"] {
        findings.variants.set(option, None, NOT_VISIBLE);
    }
    findings.variants.set("percentiles", None, STATS_NOT_READ);

    match client.authenticate().await {
        Ok(lifetime) => {
            findings.token = Step::Done(Token {
                // What is left of it, a moment after the mint: rounded, so a fresh token of
                // 86399 s shows 86399, not 86398.
                lifetime_seconds: (!lifetime.is_zero())
                    .then_some(lifetime.as_secs_f64().round() as u64),
            });
        }
        Err(error) => {
            let message = error.to_string();
            findings.problems.push(message.clone());
            findings.token = Step::Failed { error: message };
            if let Some((value, seen)) = refusal_status(&error, "this client's own login") {
                findings
                    .variants
                    .set("token-error-status", value.as_deref(), seen);
            }
            findings.reproduce = findings.variants.reproduce();
            return findings;
        }
    }

    checks(engine, &mut findings, pool_size).await;
    let (value, seen) = probe_token_errors(client).await;
    findings
        .variants
        .set("token-error-status", value.as_deref(), seen);
    findings.reproduce = findings.variants.reproduce();
    findings
}

/// The checks that need a token: read, latency, counts, drafts, estimate, and the variants the
/// reads show.
async fn checks(engine: &Engine, findings: &mut Findings, pool_size: usize) {
    let client = engine.client();
    let light = ActionQuery::default();
    let checked_by = "GET /api/v2/integrations/actions?pageSize=1".to_owned();

    // The read check is the first of the timed reads.
    let started = Instant::now();
    let first: EntityListing<_> = match client.list_actions_page(&light, 1, 1).await {
        Ok(page) => page,
        Err(error) => {
            let message = error.to_string();
            findings.problems.push(message.clone());
            findings.permissions.read = Step::Failed { error: message };
            findings.actions = Step::skipped(READ_FAILED);
            findings.drafts = Step::skipped(READ_FAILED);
            findings.latency = Step::skipped(READ_FAILED);
            findings.estimate = Step::skipped(READ_FAILED);
            findings.variants.set("templates", None, READ_FAILED);
            findings.variants.set("paging", None, READ_FAILED);
            return;
        }
    };
    let mut samples = vec![started.elapsed()];
    findings.permissions.read = Step::Done(ReadCheck {
        ok: true,
        checked_by: checked_by.clone(),
    });
    if first.page_count.is_some() || first.total.is_some() {
        findings.variants.set(
            "paging",
            Some("page-count"),
            "the first page of the actions listing carries pageCount and total",
        );
    } else {
        findings.variants.set(
            "paging",
            Some("next-uri"),
            "the first page of the actions listing has no pageCount or total: pages are followed by nextUri",
        );
    }

    findings.latency = match latency(client, &light, &mut samples).await {
        Ok(()) => Step::Done(Latency {
            median_ms: median_ms(&samples),
            samples_ms: samples.iter().map(|d| ms(*d)).collect(),
            request: "GET /api/v2/integrations/actions?pageSize=1",
        }),
        Err(error) => failed(findings, error),
    };

    let everything = ActionQuery {
        include_auth_actions: true,
        include_config: true,
        ..ActionQuery::default()
    };
    let listed = engine.list_actions(&everything).await;
    let integrations = client.list_integrations().await;
    let (actions, integrations) = match (listed, integrations) {
        (Ok(actions), Ok(integrations)) => (actions, integrations),
        (Err(error), _) | (_, Err(error)) => {
            findings.actions = failed(findings, error);
            findings.estimate = Step::skipped("not made: the listing failed");
            findings.drafts = Step::skipped("not checked: the listing failed");
            findings
                .variants
                .set("templates", None, "not seen: the listing failed");
            return;
        }
    };
    let counts = count_actions(&actions, &integrations);
    let (value, seen) = templates_variant(counts.templates);
    findings.variants.set("templates", value, seen);
    findings.actions = Step::Done(counts);
    findings.estimate = Step::Done(Estimate::of(
        &actions,
        integrations.len(),
        client.options().rate_per_minute,
        pool_size,
    ));

    findings.drafts = match client.list_drafts(&everything).await {
        Ok(drafts) => Step::Done(count_drafts(&drafts, &actions, &integrations)),
        Err(error) => failed(findings, error),
    };
}

fn failed<T>(findings: &mut Findings, error: Error) -> Step<T> {
    let message = error.to_string();
    findings.problems.push(message.clone());
    Step::Failed { error: message }
}

/// The remaining timed reads. Each waits out the limiter's spacing first, so what is timed is
/// the round trip.
async fn latency(
    client: &Client,
    light: &ActionQuery,
    samples: &mut Vec<Duration>,
) -> Result<(), Error> {
    let spacing =
        Duration::from_secs_f64(60.0 / f64::from(client.options().rate_per_minute.max(1)))
            + Duration::from_millis(5);
    while samples.len() < LATENCY_READS {
        tokio::time::sleep(spacing).await;
        let started = Instant::now();
        client.list_actions_page(light, 1, 1).await?;
        samples.push(started.elapsed());
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

fn median_ms(samples: &[Duration]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => ms(sorted[n / 2]),
        n => ms((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

fn count_actions(actions: &[ActionInfo], integrations: &[Integration]) -> ActionCounts {
    let mut templates = TemplateCounts::default();
    for config in actions.iter().filter_map(|a| a.action.config.as_ref()) {
        templates.add(&config.to_config());
    }
    let mut per_integration: BTreeMap<String, usize> = BTreeMap::new();
    for action in actions {
        let id = action
            .action
            .integration_id
            .clone()
            .unwrap_or_else(|| "(none)".to_owned());
        *per_integration.entry(id).or_default() += 1;
    }
    let mut by_integration: Vec<IntegrationCount> = per_integration
        .into_iter()
        .map(|(id, count)| {
            let known = integrations.iter().find(|i| i.id == id);
            IntegrationCount {
                name: known.and_then(|i| i.name.clone()),
                type_id: known.and_then(|i| Some(i.integration_type.as_ref()?.id.clone())),
                id,
                actions: count,
            }
        })
        .collect();
    by_integration.sort_by(|a, b| b.actions.cmp(&a.actions).then(a.name.cmp(&b.name)));
    ActionCounts {
        total: actions.len(),
        by_kind: KindCounts::of(actions.iter().map(|a| a.kind)),
        by_integration,
        unset_timeouts: actions.iter().filter(|a| a.timeout_unset()).count(),
        templates,
    }
}

fn count_drafts(
    drafts: &[crate::genesys::models::Action],
    actions: &[ActionInfo],
    integrations: &[Integration],
) -> Drafts {
    let kinds: HashMap<&str, Kind> = actions
        .iter()
        .map(|a| (a.action.id.as_str(), a.kind))
        .collect();
    let types: HashMap<String, String> = integrations
        .iter()
        .filter_map(|i| Some((i.id.clone(), i.integration_type.as_ref()?.id.clone())))
        .collect();
    let seen: Vec<(DraftSeen, Kind)> = drafts
        .iter()
        .map(|draft| {
            // A draft's id is its action's; an action not in the listing is classified alone.
            let kind = kinds
                .get(draft.id.as_str())
                .copied()
                .unwrap_or_else(|| Classifier::kind_of(draft, false, &types));
            (
                DraftSeen {
                    id: draft.id.clone(),
                    name: draft.name.clone(),
                    kind: kind.as_str(),
                },
                kind,
            )
        })
        .collect();
    Drafts {
        total: seen.len(),
        by_kind: KindCounts::of(seen.iter().map(|(_, kind)| *kind)),
        list: seen.into_iter().map(|(draft, _)| draft).collect(),
    }
}

/// The `templates` variant from the listing's configs.
fn templates_variant(counts: TemplateCounts) -> (Option<&'static str>, String) {
    let TemplateCounts { inline, uri_only } = counts;
    match (inline, uri_only) {
        (0, 0) => (
            None,
            "not seen: no action in the listing has a template".to_owned(),
        ),
        (0, _) => (
            Some("uri"),
            format!("the listing names all {uri_only} templates by URI only"),
        ),
        (_, 0) => (
            Some("inline"),
            format!("the listing carries all {inline} templates' text inline"),
        ),
        _ => (
            Some("mixed"),
            format!(
                "the listing carries {inline} templates' text inline and names {uri_only} by URI only"
            ),
        ),
    }
}

/// How a login with bad client credentials was refused, as a `token-error-status` value.
fn refusal_status(error: &Error, whose: &str) -> Option<(Option<String>, String)> {
    let Error::Auth {
        status,
        error: code,
        ..
    } = error
    else {
        return None;
    };
    if code != "invalid_client" {
        return None;
    }
    let value = VARIANTS
        .iter()
        .find(|d| d.option == "token-error-status")
        .and_then(|d| d.values.iter().find(|(v, _)| *v == status.to_string()))
        .map(|(v, _)| (*v).to_owned());
    let seen = match &value {
        Some(_) => format!("{whose} was refused with {status} `invalid_client`"),
        None => format!(
            "{whose} was refused with {status} `invalid_client`, which is neither value the sandbox offers"
        ),
    };
    Some((value, seen))
}

/// The failed login made on purpose: a made-up client id with a random secret.
async fn probe_token_errors(client: &Client) -> (Option<String>, String) {
    let mut rng = fastrand::Rng::new();
    let client_id = format!("dactl-doctor-made-up-{:08x}", rng.u32(..));
    let secret: String = std::iter::repeat_with(|| rng.alphanumeric())
        .take(32)
        .collect();
    let whose = format!(
        "a login with the made-up client id `{client_id}` (a failed login made on purpose)"
    );
    let options = ClientOptions {
        credentials: Credentials::ClientCredentials {
            client_id,
            client_secret: Secret::new(secret),
        },
        ..client.options().clone()
    };
    let probe = match Client::new(options) {
        Ok(probe) => probe,
        Err(error) => return (None, format!("not checked: {error}")),
    };
    match probe.authenticate().await {
        Ok(_) => (
            None,
            format!("not seen: {whose} was accepted, which it never should be"),
        ),
        Err(error) => refusal_status(&error, &whose)
            .unwrap_or_else(|| (None, format!("not seen: {whose} failed otherwise: {error}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// The table

/// Width of the table's text, indent and labels included.
const TABLE_WIDTH: usize = 100;

/// `label  value` lines, the labels padded to one width; long values are wrapped and a value's
/// later lines indented under its first.
fn section(out: &mut String, title: &str, rows: &[(&str, String)]) {
    out.push_str(title);
    out.push('\n');
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let room = TABLE_WIDTH.saturating_sub(width + 4).max(40);
    for (label, value) in rows {
        let lines: Vec<String> = value.lines().map(|line| wrap(line, room)).collect();
        let text = lines.join("\n");
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        out.push_str(&format!("  {label:<width$}  {first}\n"));
        for line in lines {
            out.push_str(&format!("  {:<width$}  {line}\n", ""));
        }
    }
    out.push('\n');
}

/// `1 page`, `2 pages`.
/// Minutes as a person reads them: seconds under a minute (`22 s`), else minutes (`3.4 min`).
fn duration(minutes: f64) -> String {
    if minutes < 1.0 {
        format!("{:.0} s", (minutes * 60.0).ceil())
    } else {
        format!("{minutes:.1} min")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn step_text<T>(step: &Step<T>, done: impl Fn(&T) -> String) -> String {
    match step {
        Step::Done(value) => done(value),
        Step::Failed { error } => format!("FAILED: {error}"),
        Step::Skipped { skipped } => skipped.clone(),
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("dactl doctor: reads only; nothing was changed.\n\n");
        let c = &self.connection;
        section(
            &mut out,
            "Connection",
            &[
                (
                    "region",
                    c.region
                        .clone()
                        .unwrap_or_else(|| "none: a local base URL (a sandbox)".to_owned()),
                ),
                ("API host", c.api_host.clone()),
                ("login host", c.login_host.clone()),
                (
                    "credentials",
                    match &c.client_id {
                        Some(id) => format!("{}, client id `{id}`", c.credentials),
                        None => c.credentials.to_owned(),
                    },
                ),
                (
                    "token",
                    step_text(&self.token, |t| match t.lifetime_seconds {
                        Some(s) => format!("ok, lifetime {s} s ({:.1} h)", s as f64 / 3600.0),
                        None => "ok: a ready-made token, lifetime unknown".to_owned(),
                    }),
                ),
            ],
        );
        section(
            &mut out,
            "Permissions",
            &[
                (
                    "read",
                    step_text(&self.permissions.read, |r| format!("ok ({})", r.checked_by)),
                ),
                ("edit", self.permissions.edit.to_owned()),
            ],
        );
        match &self.actions {
            Step::Done(a) => {
                let mut rows = vec![
                    ("total", a.total.to_string()),
                    ("by kind", a.by_kind.to_string()),
                    (
                        "unset timeouts",
                        format!("{} standard actions have no timeout set", a.unset_timeouts),
                    ),
                    (
                        "templates",
                        format!(
                            "{} inline · {} named by URI only",
                            a.templates.inline, a.templates.uri_only
                        ),
                    ),
                ];
                rows.push((
                    "drafts",
                    step_text(&self.drafts, |d| {
                        if d.total == 0 {
                            return "none".to_owned();
                        }
                        let mut text = format!(
                            "{} ({}): someone's unfinished work; a timeout change of a function \
                             data action with a draft is refused",
                            d.total,
                            d.by_kind.present()
                        );
                        for draft in &d.list {
                            text.push_str(&format!(
                                "\n{}  {}  {}",
                                draft.id,
                                draft.kind,
                                draft.name.as_deref().unwrap_or("-")
                            ));
                        }
                        text
                    }),
                ));
                section(&mut out, "Actions", &rows);
                let rows: Vec<Vec<String>> = a
                    .by_integration
                    .iter()
                    .map(|i| {
                        vec![
                            i.name.clone().unwrap_or_else(|| "(not listed)".to_owned()),
                            i.type_id.clone().unwrap_or_else(|| "-".to_owned()),
                            i.actions.to_string(),
                            i.id.clone(),
                        ]
                    })
                    .collect();
                out.push_str("By integration\n");
                out.push_str(&columns(&["integration", "type", "actions", "id"], &rows));
                out.push('\n');
            }
            other => section(
                &mut out,
                "Actions",
                &[("counts", step_text(other, |_| String::new()))],
            ),
        }
        section(
            &mut out,
            "Latency",
            &[(
                "round trip",
                step_text(&self.latency, |l| {
                    format!(
                        "median {} ms of {} reads ({})",
                        l.median_ms,
                        l.samples_ms.len(),
                        l.request
                    )
                }),
            )],
        );
        match &self.estimate {
            Step::Done(e) => section(
                &mut out,
                &format!(
                    "Setting every standard action ({}, unset ones included) at --rate {}/min on {}",
                    e.standard_actions,
                    e.rate_per_minute,
                    plural(e.tokens as u64, "token", "tokens")
                ),
                &[
                    (
                        "requests",
                        format!(
                            "{}: {}, {}, {}, {}, {}, {}",
                            e.requests,
                            plural(e.listing_pages, "listing page", "listing pages"),
                            plural(
                                e.integrations_listing,
                                "integrations listing page",
                                "integrations listing pages"
                            ),
                            plural(e.patches, "PATCH", "PATCHes"),
                            plural(e.template_reads, "template read", "template reads"),
                            plural(e.verify_reads, "read-back", "read-backs"),
                            plural(e.first_write_check_reads, "canary read", "canary reads"),
                        ),
                    ),
                    ("time", format!("at least {}", duration(e.minutes))),
                    (
                        "function actions",
                        format!(
                            "{} more, not included: each costs a draft cycle of about {} requests ({} requests, {})",
                            e.function_actions,
                            e.function_requests_each,
                            e.function_requests,
                            duration(e.function_minutes)
                        ),
                    ),
                ],
            ),
            other => section(
                &mut out,
                "Setting every standard action",
                &[("estimate", step_text(other, |_| String::new()))],
            ),
        }
        let rows: Vec<(&str, String)> = self
            .variants
            .0
            .iter()
            .map(|v| {
                let text = match &v.value {
                    Some(value) => format!("{value}: {}", v.seen),
                    None => v.seen.clone(),
                };
                (v.option, text)
            })
            .collect();
        section(&mut out, "Platform variants", &rows);
        if let Some(line) = &self.reproduce {
            out.push_str(&format!(
                "A sandbox that behaves like this org: dactl --sandbox {line} ...\n"
            ));
        }
        if !self.problems.is_empty() {
            out.push_str("\nProblems\n");
            for problem in &self.problems {
                let text = wrap(problem, TABLE_WIDTH - 4).replace('\n', "\n    ");
                out.push_str(&format!("  - {text}\n"));
            }
        }
        write!(f, "{}", out.trim_end())
    }
}

/// Aligned columns under a header row, indented like a section's rows.
fn columns(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Breaks text into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, kind: Kind, config: serde_json::Value) -> ActionInfo {
        ActionInfo {
            action: serde_json::from_value(serde_json::json!({"id": id, "config": config}))
                .unwrap(),
            kind,
            function_timeout: None,
        }
    }

    #[test]
    fn a_region_shows_its_api_and_login_hosts_and_the_client_id() {
        let client = |credentials| {
            Client::new(ClientOptions {
                target: crate::genesys::Target::parse("eu-west-1").unwrap(),
                credentials,
                rate_per_minute: 300,
                tokens: 1,
                concurrency: 8,
                retry: crate::genesys::RetryPolicy::default(),
                request_timeout: Duration::from_secs(30),
            })
            .unwrap()
        };
        let shown = connection(&client(Credentials::ClientCredentials {
            client_id: "my-client".into(),
            client_secret: Secret::new("Sec-unit-0454"),
        }));
        assert_eq!(shown.region.as_deref(), Some("eu-west-1"));
        assert_eq!(shown.api_host, "api.mypurecloud.ie");
        assert_eq!(shown.login_host, "login.mypurecloud.ie");
        assert_eq!(
            (shown.credentials, shown.client_id.as_deref()),
            ("client credentials", Some("my-client"))
        );
        let shown = connection(&client(Credentials::AccessToken(Secret::new("tok"))));
        assert_eq!((shown.credentials, shown.client_id), ("access token", None));
    }

    #[test]
    fn minutes_are_requests_over_the_rate() {
        assert_eq!(minutes(600, 300, 1), 2.0);
        assert_eq!(minutes(150, 300, 1), 0.5);
        assert_eq!(minutes(3000, 300, 10), 1.0, "each token has its own limit");
        assert_eq!(
            minutes(10, 0, 0),
            10.0,
            "a rate of 0 is taken as 1, no tokens as one"
        );
    }

    #[test]
    fn the_estimate_counts_every_request_of_a_change() {
        let by_uri = serde_json::json!({
            "timeoutSeconds": 10,
            "request": {"requestTemplateUri": "/t/requesttemplate.vm"},
            "response": {"successTemplateUri": "/t/successtemplate.vm"},
        });
        let inline = serde_json::json!({
            "request": {"requestTemplate": "x"},
            "response": {"successTemplate": "y", "successTemplateUri": "/t/s"},
        });
        let mut actions: Vec<ActionInfo> = (0..120)
            .map(|i| info(&format!("a{i}"), Kind::Standard, by_uri.clone()))
            .collect();
        actions.push(info("b", Kind::Standard, inline));
        actions.push(info("static_x", Kind::Static, by_uri.clone()));
        actions.push(info("auth", Kind::CustomAuth, by_uri.clone()));
        actions.push(info("f1", Kind::Function, by_uri.clone()));
        actions.push(info("f2", Kind::Function, by_uri));
        let e = Estimate::of(&actions, 6, 300, 4);
        assert_eq!(e.standard_actions, 121);
        // 124 listed without the custom auth action: 2 pages.
        assert_eq!(e.listing_pages, 2);
        assert_eq!(e.integrations_listing, 1);
        assert_eq!(e.patches, 121);
        assert_eq!(
            e.template_reads, 240,
            "two per URI-only action, none for inline"
        );
        assert_eq!(e.verify_reads, 3);
        // The canary, `a0`: read whole twice, and its two URI-only templates once more.
        assert_eq!(e.first_write_check_reads, 4);
        assert_eq!(e.requests, 2 + 1 + 121 + 240 + 3 + 4);
        assert_eq!(
            e.minutes,
            e.requests as f64 / 1200.0,
            "four tokens at 300 a minute"
        );
        assert_eq!((e.function_actions, e.function_requests), (2, 16));
    }

    #[test]
    fn templates_are_counted_one_by_one() {
        let mut counts = TemplateCounts::default();
        let config: ActionConfig = serde_json::from_value(serde_json::json!({
            "request": {"requestTemplate": "x", "requestTemplateUri": "/t/r"},
            "response": {"successTemplateUri": "/t/s"},
        }))
        .unwrap();
        counts.add(&config);
        counts.add(&ActionConfig::default());
        assert_eq!(
            counts,
            TemplateCounts {
                inline: 1,
                uri_only: 1
            }
        );
        assert_eq!(templates_variant(counts).0, Some("mixed"));
        assert_eq!(
            templates_variant(TemplateCounts {
                inline: 0,
                uri_only: 3
            })
            .0,
            Some("uri")
        );
        assert_eq!(
            templates_variant(TemplateCounts {
                inline: 3,
                uri_only: 0
            })
            .0,
            Some("inline")
        );
        assert_eq!(templates_variant(TemplateCounts::default()).0, None);
    }

    #[test]
    fn the_median_is_the_middle_sample() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(median_ms(&ms(&[9, 1, 5, 300, 4])), 5.0);
        assert_eq!(median_ms(&ms(&[2, 4])), 3.0);
        assert_eq!(median_ms(&[]), 0.0);
    }

    #[test]
    fn refusals_map_to_the_sandbox_values() {
        let auth = |status, error: &str| Error::Auth {
            status,
            error: error.into(),
            description: "authentication failed".into(),
            region: "eu-west-1 (api.mypurecloud.ie)".into(),
            credentials_from: None,
        };
        for status in [400, 401] {
            let (value, seen) = refusal_status(&auth(status, "invalid_client"), "x").unwrap();
            assert_eq!(value, Some(status.to_string()));
            assert!(seen.contains(&status.to_string()), "{seen}");
        }
        let (value, seen) = refusal_status(&auth(403, "invalid_client"), "x").unwrap();
        assert_eq!(value, None);
        assert!(seen.contains("neither value"), "{seen}");
        assert!(refusal_status(&auth(400, "invalid_request"), "x").is_none());
    }

    #[test]
    fn every_variant_option_is_reported_and_only_seen_ones_reproduce() {
        let mut seen = VariantsSeen::unseen("why");
        assert_eq!(seen.0.len(), VARIANTS.len());
        assert_eq!(seen.reproduce(), None);
        seen.set("paging", Some("next-uri"), "because");
        seen.set("templates", Some("inline"), "because");
        assert_eq!(
            seen.reproduce().as_deref(),
            Some("--sandbox-variant templates=inline,paging=next-uri")
        );
        let json = serde_json::to_value(&seen).unwrap();
        assert_eq!(json["paging"]["value"], "next-uri");
        assert_eq!(json["conflict-status"]["value"], serde_json::Value::Null);
    }
}
