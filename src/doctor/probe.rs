//! The doctor's checks: reads and token requests only, never a write.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::change::{ActionInfo, Classifier, Engine, Kind};
use crate::genesys::models::{EntityListing, Integration};
use crate::genesys::{ActionQuery, Client, ClientOptions, Credentials, Error};
use crate::platform::variants::VARIANTS;
use crate::secret::Secret;

use super::*;

pub(crate) fn host(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

pub(crate) fn connection(client: &Client) -> Connection {
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
pub(crate) async fn gather(engine: &Engine, pool_size: usize) -> Findings {
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
        executions: ExecutionsStep::Skipped {
            skipped: AUTH_FAILED.to_owned(),
        },
        variants: VariantsSeen::unseen(AUTH_FAILED),
        reproduce: None,
        problems: Vec::new(),
    };
    for option in ["conflict-status", "template-on-missing"] {
        findings.variants.set(option, None, NOT_VISIBLE);
    }

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
pub(crate) async fn checks(engine: &Engine, findings: &mut Findings, pool_size: usize) {
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
            findings.executions = ExecutionsStep::Skipped {
                skipped: READ_FAILED.to_owned(),
            };
            findings.variants.set("templates", None, READ_FAILED);
            findings.variants.set("percentiles", None, READ_FAILED);
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
            findings.executions = ExecutionsStep::Skipped {
                skipped: "not read: the listing failed (the statistics need each action's timeout)"
                    .to_owned(),
            };
            for option in ["templates", "percentiles"] {
                findings
                    .variants
                    .set(option, None, "not seen: the listing failed");
            }
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

    findings.executions = executions(engine, &actions).await;
    let (value, seen) = match &findings.executions {
        ExecutionsStep::Read(read) => read.percentiles(),
        ExecutionsStep::Refused(_) => (
            None,
            "not seen: the execution statistics query was refused".to_owned(),
        ),
        ExecutionsStep::Skipped { skipped } => (None, skipped.clone()),
    };
    findings.variants.set("percentiles", value, seen);
}

/// The executions section: every listed action's statistics over [`STATS_DAYS`] days. The
/// queries are counted by the client (doctor sends nothing else meanwhile), retries included.
pub(crate) async fn executions(engine: &Engine, actions: &[ActionInfo]) -> ExecutionsStep {
    let client = engine.client();
    let before = client.requests_sent();
    let read = engine.action_stats(actions, STATS_DAYS).await;
    let queries = client.requests_sent() - before;
    match read {
        Ok(stats) => ExecutionsStep::Read(Executions::of(&stats, STATS_DAYS, queries)),
        Err(error) => ExecutionsStep::Refused(refused(&error, queries)),
    }
}

/// A refused (or failed) statistics query as a finding: the platform's words, and the fix.
pub(crate) fn refused(error: &Error, queries: u64) -> ExecutionsRefused {
    let needs = STATS_PERMISSIONS
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    let (status, code, message) = match error {
        Error::Api {
            status,
            code,
            message,
            ..
        } => (Some(*status), Some(code.clone()), Some(message.clone())),
        other => (other.status(), None, None),
    };
    let said = match (status, &code, &message) {
        (Some(status), Some(code), Some(message)) => {
            let code = if code.is_empty() {
                String::new()
            } else {
                format!(" `{code}`")
            };
            let correlation = error
                .correlation_id()
                .map(|id| format!(" (correlation id `{id}`)"))
                .unwrap_or_default();
            format!("Genesys Cloud answered {status}{code}: {message}{correlation}")
        }
        _ => error.to_string(),
    };
    let fix = match status {
        Some(403) => format!(
            "Reading execution statistics needs {needs} (the permissions of reading actions, \
             not an `analytics:*` one); add one to the OAuth client's role in Admin > Roles / \
             Permissions."
        ),
        Some(400) => format!(
            "The platform refused dactl's query as invalid (its limits on interval length, \
             predicates per filter and results are unconfirmed): please report this message to \
             dactl. The query needs {needs}."
        ),
        _ => format!("The statistics could not be read; try again later. The query needs {needs}."),
    };
    let ended = if matches!(status, Some(400..=499)) {
        "was refused"
    } else {
        "failed"
    };
    ExecutionsRefused {
        refused: format!(
            "The execution statistics query (POST /api/v2/analytics/actions/aggregates/query) \
             {ended}. {said}. {fix}",
            said = said.trim_end_matches('.')
        ),
        status,
        code,
        message,
        permissions: STATS_PERMISSIONS,
        queries,
    }
}

pub(crate) fn failed<T>(findings: &mut Findings, error: Error) -> Step<T> {
    let message = error.to_string();
    findings.problems.push(message.clone());
    Step::Failed { error: message }
}

/// The remaining timed reads. Each waits out the limiter's spacing first, so what is timed is
/// the round trip.
pub(crate) async fn latency(
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

pub(crate) fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

pub(crate) fn median_ms(samples: &[Duration]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => ms(sorted[n / 2]),
        n => ms((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

pub(crate) fn count_actions(actions: &[ActionInfo], integrations: &[Integration]) -> ActionCounts {
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

pub(crate) fn count_drafts(
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
pub(crate) fn templates_variant(counts: TemplateCounts) -> (Option<&'static str>, String) {
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
pub(crate) fn refusal_status(error: &Error, whose: &str) -> Option<(Option<String>, String)> {
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
pub(crate) async fn probe_token_errors(client: &Client) -> (Option<String>, String) {
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
