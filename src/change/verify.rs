//! Reading changes back: `updated` and `unchanged` changes are compared with what the platform
//! now holds. Standard actions are read in batches of 50 ids per listing call (the API's limit for
//! `ids=`), with config; function data actions through their function settings, one call each.

use std::collections::HashMap;

use crate::change::{Change, Engine, Kind, Status, Verification};
use crate::genesys::{ActionQuery, Error};

/// Ids per `ids=` listing call.
pub const VERIFY_BATCH: usize = 50;

impl Engine {
    pub async fn verify(&self, changes: &[Change]) -> Result<Verification, Error> {
        let checked: Vec<&Change> = changes
            .iter()
            .filter(|c| matches!(c.status, Status::Updated | Status::Unchanged))
            .collect();
        let (functions, standard): (Vec<&Change>, Vec<&Change>) =
            checked.iter().partition(|c| c.kind == Kind::Function);
        let mut mismatches = Vec::new();
        for batch in standard.chunks(VERIFY_BATCH) {
            let query = ActionQuery {
                ids: Some(batch.iter().map(|c| c.id.clone()).collect()),
                include_config: true,
                ..ActionQuery::default()
            };
            let found: HashMap<String, Option<i64>> = self
                .client
                .list_actions(&query)
                .await?
                .into_iter()
                .map(|a| (a.id, a.config.and_then(|c| c.timeout_seconds)))
                .collect();
            for change in batch {
                let now = found.get(&change.id).copied().flatten();
                if now != change.after {
                    mismatches.push((change.id.clone(), change.after, now));
                }
            }
        }
        for change in functions {
            // Unset means the documented default, 15 s.
            let now = self.function_timeout(&change.id).await?.or(Some(15));
            if now != change.after.or(Some(15)) {
                mismatches.push((change.id.clone(), change.after, now));
            }
        }
        Ok(Verification {
            ok: mismatches.is_empty(),
            checked: checked.len(),
            mismatches,
        })
    }
}
