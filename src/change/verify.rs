//! Reading changes back: `updated` and `unchanged` changes are compared with what the platform
//! now holds. Standard actions are read in batches of 50 ids per listing call (the API's limit for
//! `ids=`), with config; function data actions through their function settings, one call each;
//! the reads go out concurrently.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt, stream};

use crate::change::{Change, Engine, FUNCTION_DEFAULT_SECONDS, Kind, Status, Verification};
use crate::genesys::{ActionQuery, Error};

impl Engine {
    /// Reads back every `updated` and `unchanged` change; the batches and function reads go
    /// out together, as many at once as the client allows requests in flight.
    pub async fn verify(&self, changes: &[Change]) -> Result<Verification, Error> {
        let checked: Vec<&Change> = changes
            .iter()
            .filter(|c| matches!(c.status, Status::Updated | Status::Unchanged))
            .collect();
        let (functions, standard): (Vec<&Change>, Vec<&Change>) =
            checked.iter().partition(|c| c.kind == Kind::Function);
        // Each batch is reduced to (id, timeout) as it arrives, so no more than the batches in
        // flight are ever held whole.
        let query = ActionQuery {
            ids: Some(standard.iter().map(|c| c.id.clone()).collect()),
            include_config: true,
            ..ActionQuery::default()
        };
        let found: HashMap<String, Option<i64>> = self
            .client
            .list_actions_reduced(&query, |batch| {
                batch
                    .into_iter()
                    .map(|a| (a.id, a.config.and_then(|c| c.timeout_seconds)))
                    .collect()
            })
            .await?
            .into_iter()
            .collect();
        let read: Vec<(&Change, Option<i64>)> = standard
            .iter()
            .map(|change| (*change, found.get(&change.id).copied().flatten()))
            .collect();
        // Unset means the documented default, 15 s.
        let function_reads = functions.iter().map(|change| async move {
            let now = self
                .function_timeout(&change.id)
                .await?
                .or(Some(FUNCTION_DEFAULT_SECONDS));
            Ok::<_, Error>((*change, now))
        });
        let functions_read: Vec<(&Change, Option<i64>)> = stream::iter(function_reads)
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let mut mismatches = Vec::new();
        for (change, now) in read {
            if now != change.after {
                mismatches.push((change.id.clone(), change.after, now));
            }
        }
        for (change, now) in functions_read {
            if now != change.after.or(Some(FUNCTION_DEFAULT_SECONDS)) {
                mismatches.push((change.id.clone(), change.after, now));
            }
        }
        // In the order of the changes, whatever order the reads came back in.
        let order: HashMap<&str, usize> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        mismatches.sort_by_key(|(id, _, _)| order.get(id.as_str()).copied());
        Ok(Verification {
            ok: mismatches.is_empty(),
            checked: checked.len(),
            mismatches,
        })
    }
}
