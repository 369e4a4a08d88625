//! `dactl actions ...`: list, get and set-timeout (by ids or by a filter).

use crate::change::{ActionInfo, Change, Filter, Timeout, split_unset, unset_reason};
use crate::cli::{ActionsCommand, GlobalArgs};
use crate::genesys::ActionQuery;
use crate::output::{self, Printer, Stream};
use crate::script::{self};
use crate::session::Session;

use super::ending::*;
use super::*;

/// `dactl actions ...`.
pub(super) fn actions(global: &GlobalArgs, printer: Printer, command: ActionsCommand) -> u8 {
    match command {
        ActionsCommand::List {
            category,
            name,
            kind,
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
                    .map_or_else(
                        || crate::report::values::UNSET.to_owned(),
                        |t| t.to_string(),
                    ),
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
