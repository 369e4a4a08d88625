//! Which actions can take a timeout, decided without a request per action.
//!
//! - static (built-in) actions: the id starts with `static` (no request);
//! - function data actions: the action's integration has type `function-data-actions`. One
//!   `GET /api/v2/integrations` listing, cached for the life of the classifier, answers this for
//!   every action;
//! - custom authentication actions: the API does not mark them, it only returns them when
//!   `includeAuthActions=true`. So the honest test is "present with it, absent without it". A
//!   listing with auth actions is compared with a second listing of the same filter without them
//!   (without config, so the pages are small); a single fetch first asks the `ids=` listing
//!   without auth actions (which also brings the config, so a normal action costs one request)
//!   and only when the action is missing there reads it directly, which makes it custom auth.
//!   Guessing from names or categories was rejected: nothing documents such a convention.

use std::collections::{HashMap, HashSet};

use tokio::sync::OnceCell;

use crate::change::{ActionInfo, Kind};
use crate::genesys::compact::CompactAction;
use crate::genesys::models::{Action, FUNCTION_INTEGRATION_TYPE};
use crate::genesys::{Client, Error};

/// Resolves kinds; caches the integration listing (integration id → type id).
#[derive(Debug)]
pub struct Classifier {
    client: Client,
    integration_types: OnceCell<HashMap<String, String>>,
}

impl Classifier {
    pub fn new(client: Client) -> Classifier {
        Classifier {
            client,
            integration_types: OnceCell::new(),
        }
    }

    /// The kind from what is known without a request: `auth_only` says the action was seen only
    /// in a listing with auth actions.
    pub fn kind_of(
        action: &Action,
        auth_only: bool,
        integration_types: &HashMap<String, String>,
    ) -> Kind {
        Self::kind(
            &action.id,
            action.integration_id.as_deref(),
            auth_only,
            integration_types,
        )
    }

    fn kind(
        id: &str,
        integration_id: Option<&str>,
        auth_only: bool,
        integration_types: &HashMap<String, String>,
    ) -> Kind {
        if id.starts_with("static") {
            return Kind::Static;
        }
        if auth_only {
            return Kind::CustomAuth;
        }
        let is_function = integration_id
            .and_then(|id| integration_types.get(id))
            .is_some_and(|kind| kind == FUNCTION_INTEGRATION_TYPE);
        if is_function {
            Kind::Function
        } else {
            Kind::Standard
        }
    }

    async fn integration_types(&self) -> Result<&HashMap<String, String>, Error> {
        self.integration_types
            .get_or_try_init(|| async {
                let integrations = self.client.list_integrations().await?;
                Ok(integrations
                    .into_iter()
                    .filter_map(|i| Some((i.id, i.integration_type?.id)))
                    .collect())
            })
            .await
    }

    /// Reads the integration listing now, if it was not read yet, so that it can go beside a
    /// listing of actions rather than after it. An error is not kept: `classify` reads again
    /// and reports it, when the kinds need it.
    pub async fn prefetch(&self) {
        let _ = self.integration_types().await;
    }

    /// Classifies many actions; `auth_ids` are the ids seen only with auth actions included.
    /// Reads the integration listing at most once per classifier, and not at all when every
    /// action is static or custom auth.
    pub async fn classify(
        &self,
        actions: Vec<CompactAction>,
        auth_ids: &HashSet<String>,
    ) -> Result<Vec<ActionInfo>, Error> {
        let needs_types = actions.iter().any(|a| {
            !a.id.starts_with("static") && !auth_ids.contains(&a.id) && a.integration_id.is_some()
        });
        let empty = HashMap::new();
        let types = if needs_types {
            self.integration_types().await?
        } else {
            &empty
        };
        Ok(actions
            .into_iter()
            .map(|action| {
                let kind = Self::kind(
                    &action.id,
                    action.integration_id.as_deref(),
                    auth_ids.contains(&action.id),
                    types,
                );
                ActionInfo {
                    action,
                    kind,
                    function_timeout: None,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(id: &str, integration: Option<&str>) -> Action {
        serde_json::from_value(serde_json::json!({"id": id, "integrationId": integration})).unwrap()
    }

    #[test]
    fn kinds_follow_id_auth_listing_and_integration_type() {
        let types: HashMap<String, String> = [
            ("i-fn".to_string(), FUNCTION_INTEGRATION_TYPE.to_string()),
            ("i-rest".to_string(), "custom-rest-actions".to_string()),
        ]
        .into();
        assert_eq!(
            Classifier::kind_of(&action("static_-_x", Some("i-fn")), false, &types),
            Kind::Static
        );
        assert_eq!(
            Classifier::kind_of(&action("a1", Some("i-rest")), true, &types),
            Kind::CustomAuth
        );
        assert_eq!(
            Classifier::kind_of(&action("a2", Some("i-fn")), false, &types),
            Kind::Function
        );
        assert_eq!(
            Classifier::kind_of(&action("a3", Some("i-rest")), false, &types),
            Kind::Standard
        );
        assert_eq!(
            Classifier::kind_of(&action("a4", Some("unknown")), false, &types),
            Kind::Standard
        );
        assert_eq!(
            Classifier::kind_of(&action("a5", None), false, &types),
            Kind::Standard
        );
    }
}
