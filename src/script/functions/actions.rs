//! `fetch_action` and `list_actions`: reading actions, config included. Scripts get the host's
//! own actions, shared (`script::action`), not copies.

use std::sync::Arc;

use rhai::plugin::*;

use crate::genesys::ActionQuery;
use crate::script::convert;
use crate::script::errors::ErrorMap;
use crate::script::state;
use crate::script::values::ScriptAction;

#[export_module]
pub mod action_functions {
    use rhai::{Array, EvalAltResult, Map, NativeCallContext};

    /// Reads one action, config included: `action_or_id` is an action, an action map or an id,
    /// and the action is read fresh either way. The action reads like the map `#{id, name,
    /// category, integration_id, version, secure, timeout_seconds, effective_timeout, kind,
    /// config}` (read-only; `a.to_map()` copies it into a map). `timeout_seconds` is `()` when
    /// unset, and `effective_timeout` is then 60 (unset means 60 s, the maximum); `kind` is
    /// `"standard"`, `"static"`, `"custom_auth"` or `"function"`. Throws an error map
    /// (`e.status == 404`) when there is no such action.
    ///
    /// Example: `let a = fetch_action("c0ffee00-0000-4000-8000-000000000001"); print(a.timeout_seconds);`
    #[rhai_fn(return_raw)]
    pub fn fetch_action(
        ctx: NativeCallContext,
        action_or_id: Dynamic,
    ) -> Result<ScriptAction, Box<EvalAltResult>> {
        let state = state::of(&ctx)?;
        let id = convert::action_id(&action_or_id)?;
        let info = state
            .session()?
            .fetch_action(&id)
            .map_err(|e| ErrorMap::from_api(&e).with_action(&id).throw())?;
        let info = Arc::new(info);
        state.remember(std::slice::from_ref(&info));
        Ok(ScriptAction(info))
    }

    /// Lists every action (all pages, config included) as an array of actions.
    ///
    /// Example: `for a in list_actions() { print(a.name); }`
    #[rhai_fn(name = "list_actions", return_raw)]
    pub fn list_all(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        list_with(ctx, Map::new())
    }

    /// Lists the actions matching the options, as an array of actions. Options (all optional):
    /// `category` (exact), `name` (partial match), `ids` (an array of ids), `secure` (bool),
    /// `include_auth` (bool: also custom authentication actions). A filter that matches nothing
    /// gives `[]`: `ids: []` is no action, never every action. Leave an option out (or pass `()`)
    /// to not filter by it; an empty `name` or `category` is refused, as it would match every
    /// action.
    ///
    /// Example: `let slow = list_actions(#{category: "CRM"}).filter(|a| a.timeout_seconds < 10);`
    #[rhai_fn(name = "list_actions", return_raw)]
    pub fn list_with(ctx: NativeCallContext, options: Map) -> Result<Array, Box<EvalAltResult>> {
        let state = state::of(&ctx)?;
        const F: &str = "list_actions";
        convert::check_keys(
            F,
            &options,
            &["category", "name", "ids", "secure", "include_auth"],
        )?;
        let query = ActionQuery {
            category: convert::opt_filter(F, &options, "category")?,
            name: convert::opt_filter(F, &options, "name")?,
            // `ids: []` is no action, not every action (`()` is the option left out).
            ids: match options.get("ids").filter(|v| !v.is_unit()) {
                Some(v) => Some(convert::string_list(F, "ids", v)?),
                None => None,
            },
            secure: convert::opt_bool(F, &options, "secure")?,
            include_auth_actions: convert::opt_bool(F, &options, "include_auth")?.unwrap_or(false),
            include_config: true,
        };
        let infos = state
            .session()?
            .list_actions(&query)
            .map_err(|e| ErrorMap::from_api(&e).throw())?;
        let infos: Vec<Arc<_>> = infos.into_iter().map(Arc::new).collect();
        state.remember(&infos);
        Ok(infos.into_iter().map(convert::action).collect())
    }
}
