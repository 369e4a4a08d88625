//! `dactl actions ...`: list, get and set-timeout (by ids or by a filter).

use crate::change::{ActionInfo, Change, Filter, Timeout, split_unset, unset_reason};
use crate::cli::{ActionFilter, ActionsCommand, GlobalArgs};
use crate::genesys::ActionQuery;
use crate::output::{self, Printer, Stream};
use crate::report;
use crate::script::{self};
use crate::session::Session;

use super::ending::*;
use super::*;

/// `dactl actions ...`.
pub(super) fn actions(global: &GlobalArgs, printer: Printer, command: ActionsCommand) -> u8 {
    match command {
        ActionsCommand::List {
            filter:
                ActionFilter {
                    category,
                    name,
                    kind,
                },
        } => with_session(global, printer, |session| {
            let query = ActionQuery {
                category,
                name,
                include_auth_actions: true,
                include_config: true,
                ..ActionQuery::default()
            };
            match session.list_actions(&query) {
                Ok(infos) => {
                    let infos: Vec<ActionInfo> = infos
                        .into_iter()
                        .filter(|i| kind.as_deref().is_none_or(|k| i.kind.as_str() == k))
                        .collect();
                    print_actions(session.printer(), &infos);
                    SUCCESS
                }
                Err(error) => {
                    output::error(&error);
                    FAILURE
                }
            }
        }),
        ActionsCommand::Stats { days, filter } => {
            with_session(global, printer, |session| stats(session, days, filter))
        }
        ActionsCommand::Get { id } => {
            with_session(global, printer, |session| match session.fetch_action(&id) {
                Ok(info) => {
                    let value = script::convert::action_map(&info);
                    let printer = session.printer();
                    if printer.json {
                        printer.json(&crate::report::values::json(&value));
                    } else {
                        let layout = printer.layout(Stream::Stdout);
                        printer.data(
                            &crate::report::values::value(&value, layout).unwrap_or_default(),
                        );
                    }
                    SUCCESS
                }
                Err(error) if error.status() == Some(404) => {
                    output::error(format!("There is no action with id `{id}`."));
                    FAILURE
                }
                Err(error) => {
                    output::error(&error);
                    FAILURE
                }
            })
        }
        ActionsCommand::SetTimeout {
            mut values,
            category,
            name,
            include_unset,
        } => {
            let text = values.pop().unwrap_or_default();
            let timeout = match Timeout::parse(&text) {
                Ok(timeout) => timeout,
                Err(error) => {
                    output::error(format!("TIMEOUT: {error}"));
                    return USAGE;
                }
            };
            let by_filter = category.is_some() || name.is_some();
            if by_filter != values.is_empty() {
                output::error(
                    "name the actions either by id or with `--category`/`--name`, not both and not neither; e.g. `dactl actions set-timeout ID 30` or `dactl actions set-timeout --category Billing 30`.",
                );
                return USAGE;
            }
            if include_unset && !by_filter {
                output::error(
                    "`--include-unset` goes with `--category` or `--name`; actions named by id are changed whether their timeout is set or not, so leave it out.",
                );
                return USAGE;
            }
            with_session(global, printer, |session| {
                bulk(global, session, None, |s| match (&category, &name) {
                    (None, None) => set_by_ids(s, &values, timeout),
                    _ => {
                        let filter = Filter {
                            category: category.clone(),
                            name: name.clone(),
                        };
                        set_by_filter(s, &filter, timeout, include_unset)
                    }
                })
            })
        }
    }
}

/// `actions set-timeout ID... TIMEOUT`: the actions named, custom authentication actions
/// included (they are reported as skipped, with the reason); an id that names no action fails.
pub(super) fn set_by_ids(
    s: &Session,
    ids: &[String],
    timeout: Timeout,
) -> Result<Vec<Change>, BulkError> {
    let resolved = s.resolve(ids, true)?;
    let mut changes = resolved.missing_changes();
    let mut decide = |_: &ActionInfo| Ok(Some(timeout));
    changes.extend(s.update_timeouts(resolved.found, &mut decide));
    Ok(changes)
}

/// `actions set-timeout --category C / --name N TIMEOUT`. A filter that matches no action is an
/// error that names it. Standard actions with no timeout set are left alone and reported as
/// skipped, unless `include_unset`.
pub(super) fn set_by_filter(
    s: &Session,
    filter: &Filter,
    timeout: Timeout,
    include_unset: bool,
) -> Result<Vec<Change>, BulkError> {
    let targets = s.list_actions(&filter.query())?;
    if targets.is_empty() {
        return Err(filter.matched_nothing().into());
    }
    let (targets, unset) = split_unset(targets, include_unset);
    let mut decide = |_: &ActionInfo| Ok(Some(timeout));
    let mut changes = s.update_timeouts(targets, &mut decide);
    changes.extend(s.leave_alone(&unset, &unset_reason(timeout)));
    Ok(changes)
}

/// `dactl actions stats`: the filtered actions' executions, worst first.
fn stats(session: &Session, days: u32, filter: ActionFilter) -> u8 {
    let ActionFilter {
        category,
        name,
        kind,
    } = filter;
    let wanted = [
        category.as_ref().map(|c| format!("--category {c}")),
        name.as_ref().map(|n| format!("--name {n}")),
        kind.as_ref().map(|k| format!("--kind {k}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let query = ActionQuery {
        category,
        name,
        include_auth_actions: kind.as_deref() == Some("custom_auth"),
        include_config: true,
        ..ActionQuery::default()
    };
    let infos: Vec<ActionInfo> = match session.list_actions(&query) {
        Ok(infos) => infos
            .into_iter()
            .filter(|i| kind.as_deref().is_none_or(|k| i.kind.as_str() == k))
            .collect(),
        Err(error) => {
            output::error(&error);
            return FAILURE;
        }
    };
    if infos.is_empty() {
        output::error(if wanted.is_empty() {
            "This org has no actions: there are no statistics to read.".to_owned()
        } else {
            format!(
                "No action matches {wanted}: there are no statistics to read. See the categories and names with: dactl actions list"
            )
        });
        return FAILURE;
    }
    let all = match session.action_stats(&infos, days) {
        Ok(all) => all,
        Err(error) => {
            output::error(&error);
            return FAILURE;
        }
    };
    let by_id: std::collections::HashMap<&str, &ActionInfo> =
        infos.iter().map(|i| (i.action.id.as_str(), i)).collect();
    let mut rows: Vec<report::stats::Row> = all
        .into_iter()
        .map(|stats| {
            let info = by_id.get(stats.id.as_str());
            report::stats::Row {
                timeout_seconds: info.and_then(|i| i.action.timeout_seconds()),
                kind: info.map(|i| i.kind.as_str()),
                stats,
            }
        })
        .collect();
    report::stats::sort(&mut rows);
    let printer = session.printer();
    if printer.json {
        printer
            .json(&serde_json::to_string_pretty(&report::stats::json(&rows)).unwrap_or_default());
    } else {
        printer.data(&report::stats::table(&rows, printer.layout(Stream::Stdout)));
    }
    SUCCESS
}

pub(super) fn print_actions(printer: &Printer, infos: &[ActionInfo]) {
    if printer.json {
        printer.json(&crate::report::values::json(&script::convert::action_maps(
            infos,
        )));
        return;
    }
    let rows: Vec<Vec<String>> = infos
        .iter()
        .map(|i| {
            // A function data action's own timeout is read per action, so a listing does not
            // have it (`-`: not read; `actions get` reads it). Any other absent timeout is unset.
            // The same rule as `report::values` uses for REPL tables.
            let timeout = match (i.kind, i.function_timeout) {
                (crate::change::Kind::Function, Some(t)) => t.to_string(),
                (crate::change::Kind::Function, None) => "-".to_owned(),
                _ => i
                    .action
                    .config
                    .as_ref()
                    .and_then(|c| c.timeout_seconds)
                    .map_or_else(|| crate::report::values::unset(i.kind), |t| t.to_string()),
            };
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
            vec![
                i.action.id.clone(),
                text(&i.action.name),
                text(&i.action.category),
                i.kind.as_str().to_owned(),
                timeout,
            ]
        })
        .collect();
    let table = crate::output::table::render(
        &["id", "name", "category", "kind", "timeout"],
        &rows,
        printer.layout(Stream::Stdout),
    );
    printer.data(&table.text);
}
