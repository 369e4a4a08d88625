//! Data Actions endpoints (`/api/v2/integrations/actions...`): what the client can do with actions.
//!
//! Every per-action call names its action in errors (`Error::Api.action_id`). Listing fetches every
//! page at `pageSize=100`: the first page tells how many there are, the rest are fetched
//! concurrently (each token's rate limit still spaces them), and `ids` filters are split into
//! requests of at most 50 ids, the API's limit. An `ids` filter with no (non-blank) id lists
//! nothing and sends nothing: on the wire, no ids is no filter, which would be every action.
//! The drafts listing (`.../actions/drafts`) takes the same filters and is paged the same way.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::genesys::Error;
use crate::genesys::client::{ActionQuery, Call, Client};
use crate::genesys::compact::CompactAction;
use crate::genesys::models::*;

/// Largest page the API serves.
pub const PAGE_SIZE: u32 = 100;
/// Most ids one `ids=` filter may carry.
pub const IDS_PER_REQUEST: usize = 50;

/// Readings of a listing before it is refused as changing too fast to trust (see
/// [`Client::list_pages`]). A quiet org needs one; an admin renaming now and then, two.
pub const LISTING_PASSES: usize = 3;

/// What a listing's entities have: an id that stays put when the entity is renamed.
pub trait Listed {
    fn listed_id(&self) -> &str;
}

impl Listed for Action {
    fn listed_id(&self) -> &str {
        &self.id
    }
}

impl Listed for CompactAction {
    fn listed_id(&self) -> &str {
        &self.id
    }
}

impl Listed for Integration {
    fn listed_id(&self) -> &str {
        &self.id
    }
}

/// One reading of a paged listing, each id once, and what tells whether it can be trusted.
struct Pass<T> {
    entities: Vec<T>,
    /// Where each id sits in `entities`.
    index: HashMap<String, usize>,
    /// Sightings of an id already seen.
    twice: usize,
    /// The first page's `total`.
    total: Option<u64>,
    /// A later page's `total` differed from the first's: entities came or went meanwhile.
    total_moved: bool,
}

impl<T: Listed> Pass<T> {
    fn new(total: Option<u64>) -> Pass<T> {
        Pass {
            entities: Vec::new(),
            index: HashMap::new(),
            twice: 0,
            total,
            total_moved: false,
        }
    }

    fn reserve(&mut self, total: usize) {
        self.entities.reserve(total);
        self.index.reserve(total);
    }

    fn add(&mut self, listing: EntityListing<T>) {
        if listing.total.is_some() && listing.total != self.total {
            self.total_moved = true;
        }
        for entity in listing.entities {
            match self.index.get(entity.listed_id()) {
                Some(&at) => {
                    self.twice += 1;
                    self.entities[at] = entity;
                }
                None => {
                    self.index
                        .insert(entity.listed_id().to_owned(), self.entities.len());
                    self.entities.push(entity);
                }
            }
        }
    }

    /// Nothing moved between pages: no id twice, as many as the total said, the same total.
    fn settled(&self) -> bool {
        self.still()
            && self
                .total
                .is_none_or(|total| total == self.entities.len() as u64)
    }

    /// No id twice and the same total on every page: nothing shifted while this pass was read.
    fn still(&self) -> bool {
        self.twice == 0 && !self.total_moved
    }

    /// A still pass with exactly the ids of the one before: settled too, whatever `total`
    /// says (a platform whose `total` counted what it does not list is not refused for ever).
    fn repeats(&self, before: &Pass<T>) -> bool {
        self.still()
            && self.index.len() == before.index.len()
            && self.index.keys().all(|id| before.index.contains_key(id))
    }
}

const ACTIONS: [&str; 4] = ["api", "v2", "integrations", "actions"];
const DRAFTS: [&str; 5] = ["api", "v2", "integrations", "actions", "drafts"];

/// The query parameters of a listing's filters (not `ids`, not paging).
fn filter_params(query: &ActionQuery) -> Vec<(&'static str, String)> {
    let mut params: Vec<(&'static str, String)> = Vec::new();
    if let Some(category) = &query.category {
        params.push(("category", category.clone()));
    }
    if let Some(name) = &query.name {
        params.push(("name", name.clone()));
    }
    if let Some(secure) = query.secure {
        params.push(("secure", secure.to_string()));
    }
    params.push(("includeAuthActions", query.include_auth_actions.to_string()));
    params.push(("includeConfig", query.include_config.to_string()));
    params
}

fn action_path<'a>(id: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut path = ACTIONS.to_vec();
    path.push(id);
    path.extend_from_slice(rest);
    path
}

impl Client {
    /// Every action matching the query, all pages. `ids: Some(empty)` is no action, without a
    /// request.
    pub async fn list_actions(&self, query: &ActionQuery) -> Result<Vec<Action>, Error> {
        self.list_filtered(&ACTIONS, query).await
    }

    /// `list_actions`, each action decoded straight into its compact form (see `compact`), the
    /// form the change engine holds listings in.
    pub async fn list_actions_compact(
        &self,
        query: &ActionQuery,
    ) -> Result<Vec<CompactAction>, Error> {
        self.list_filtered(&ACTIONS, query).await
    }

    /// `GET .../actions/drafts`: every draft matching the query, all pages, each in the draft's
    /// shape (the action's id; the draft's own name, category and version). The filters are the
    /// actions listing's and look at the draft's fields; `ids: Some(empty)` is no draft, without
    /// a request.
    pub async fn list_drafts(&self, query: &ActionQuery) -> Result<Vec<Action>, Error> {
        self.list_filtered(&DRAFTS, query).await
    }

    /// One page of `GET .../actions` as the API sends it, paging fields included (`pageCount`
    /// and `total` may be absent: the listing then tells only `nextUri`). `query.ids` is not
    /// sent.
    pub async fn list_actions_page(
        &self,
        query: &ActionQuery,
        page_number: u32,
        page_size: u32,
    ) -> Result<EntityListing<Action>, Error> {
        let mut call = Call::new(Method::GET, ACTIONS.to_vec())
            .query("pageSize", page_size)
            .query("pageNumber", page_number);
        for (key, value) in filter_params(query) {
            call = call.query(key, value);
        }
        self.send_json(call).await
    }

    /// `list_actions` of the actions `query.ids` names, each request's actions reduced by
    /// `reduce` as it arrives (so no more than the requests in flight are held whole): for
    /// reading many actions back when only a little of each is kept. Without `ids`, every
    /// action, as one batch.
    pub async fn list_actions_reduced<U>(
        &self,
        query: &ActionQuery,
        reduce: impl FnMut(Vec<Action>) -> Vec<U>,
    ) -> Result<Vec<U>, Error> {
        self.list_reduced(&ACTIONS, query, reduce).await
    }

    /// A filtered listing of actions (or drafts), every page.
    async fn list_filtered<T: DeserializeOwned + Listed>(
        &self,
        path: &[&str],
        query: &ActionQuery,
    ) -> Result<Vec<T>, Error> {
        self.list_reduced(path, query, |batch| batch).await
    }

    /// The one reader of named ids: `ids` filters are split into requests of at most
    /// [`IDS_PER_REQUEST`] ids, sent as many at once as requests may be in flight, each
    /// request's entities passed through `reduce` as it arrives, in order.
    async fn list_reduced<T: DeserializeOwned + Listed, U>(
        &self,
        path: &[&str],
        query: &ActionQuery,
        mut reduce: impl FnMut(Vec<T>) -> Vec<U>,
    ) -> Result<Vec<U>, Error> {
        let params = filter_params(query);
        let Some(wanted) = &query.ids else {
            return Ok(reduce(self.list_pages(path, &params).await?));
        };
        // A blank id names no action; sent, it would read as no `ids=` filter at all.
        let mut ids: Vec<&str> = Vec::new();
        for id in wanted.iter().map(String::as_str) {
            if !id.trim().is_empty() && !ids.contains(&id) {
                ids.push(id);
            }
        }
        // No ids: no actions. Sending no `ids=` would list every action instead.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let requests = ids.chunks(IDS_PER_REQUEST).map(|chunk| {
            let mut params = params.clone();
            params.push(("ids", chunk.join(",")));
            async move { self.list_pages::<T>(path, &params).await }
        });
        let mut batches =
            futures::stream::iter(requests).buffered(self.options().concurrency.max(1));
        let mut reduced = Vec::new();
        while let Some(batch) = batches.try_next().await? {
            reduced.extend(reduce(batch));
        }
        Ok(reduced)
    }

    /// Every entity of a paged listing, each once. A listing is paged by position, so an
    /// entity that moves in the sort order while the pages are read (another admin renames an
    /// action) shifts the others across page boundaries: one comes twice and one never. A pass
    /// that saw an id twice, or fewer entities than its `total`, or a `total` that changed, is
    /// read again, up to [`LISTING_PASSES`] times; then the listing is refused rather than
    /// acted on ([`Error::ListingUnsettled`]).
    pub(crate) async fn list_pages<T: DeserializeOwned + Listed>(
        &self,
        path: &[&str],
        params: &[(&'static str, String)],
    ) -> Result<Vec<T>, Error> {
        let mut previous: Option<Pass<T>> = None;
        let mut pass = self.list_pass(path, params).await?;
        for _ in 1..LISTING_PASSES {
            if pass.settled() || previous.as_ref().is_some_and(|p| pass.repeats(p)) {
                break;
            }
            previous = Some(std::mem::replace(
                &mut pass,
                self.list_pass(path, params).await?,
            ));
        }
        if pass.settled() || previous.as_ref().is_some_and(|p| pass.repeats(p)) {
            return Ok(pass.entities);
        }
        Err(Error::ListingUnsettled {
            path: format!("/{}", path.join("/")),
            passes: LISTING_PASSES,
            seen: pass.entities.len(),
            twice: pass.twice,
            total: pass.total,
        })
    }

    /// One reading of a paged listing: page 1 first, then the others concurrently, in order,
    /// each page's entities moved into the result as it arrives (at most as many pages held at
    /// once as requests may be in flight, so memory grows with the listing, not with them). An
    /// id seen again replaces its first sighting, in place.
    async fn list_pass<T: DeserializeOwned + Listed>(
        &self,
        path: &[&str],
        params: &[(&'static str, String)],
    ) -> Result<Pass<T>, Error> {
        let page = |number: u32| {
            let mut call = Call::new(Method::GET, path.to_vec())
                .query("pageSize", PAGE_SIZE)
                .query("pageNumber", number);
            for (key, value) in params {
                call = call.query(key, value);
            }
            self.send_json::<EntityListing<T>>(call)
        };
        let first = page(1).await?;
        let page_count = first.page_count.map(u64::from).or_else(|| {
            let size = u64::from(first.page_size.unwrap_or(PAGE_SIZE).max(1));
            first.total.map(|total| total.div_ceil(size))
        });
        let mut pass = Pass::new(first.total);
        match page_count {
            Some(count) => {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                // Sized once from the total, rather than doubled (and copied) as pages arrive.
                let total = first
                    .total
                    .unwrap_or(0)
                    .min(u64::from(count) * u64::from(PAGE_SIZE));
                pass.reserve(usize::try_from(total).unwrap_or(0));
                pass.add(first);
                let mut pages = futures::stream::iter((2..=count).map(page))
                    .buffered(self.options().concurrency.max(1));
                while let Some(listing) = pages.try_next().await? {
                    pass.add(listing);
                }
            }
            // No count given: follow `nextUri` one page at a time.
            None => {
                let mut next = first.next_uri.clone();
                pass.add(first);
                let mut number = 1;
                while next.is_some() {
                    number += 1;
                    let listing = page(number).await?;
                    if listing.entities.is_empty() {
                        break;
                    }
                    next = listing.next_uri.clone();
                    pass.add(listing);
                }
            }
        }
        Ok(pass)
    }

    /// `GET .../actions/{id}`; `config` is present only with `include_config`.
    pub async fn get_action(&self, id: &str, include_config: bool) -> Result<Action, Error> {
        let call =
            Call::new(Method::GET, action_path(id, &[])).query("includeConfig", include_config);
        self.send_json(call.action(id)).await
    }

    /// `GET .../actions/{id}?includeConfig=true&expand=contract`: the whole action, contract
    /// included (template text may still sit behind URIs).
    pub async fn get_action_whole(&self, id: &str) -> Result<Action, Error> {
        let call = Call::new(Method::GET, action_path(id, &[]))
            .query("includeConfig", true)
            .query("expand", "contract");
        self.send_json(call.action(id)).await
    }

    /// `GET .../actions/{id}/templates/{fileName}`: a template's text. The contract says this
    /// operation produces `text/plain`; errors still come as JSON, so both are accepted.
    pub async fn get_template(&self, id: &str, file_name: &str) -> Result<String, Error> {
        let call = Call::new(Method::GET, action_path(id, &["templates", file_name]))
            .accept("text/plain, application/json");
        self.send_text(call.action(id)).await
    }

    /// `PATCH .../actions/{id}`: the body carries the version read and the whole config.
    pub async fn patch_action(&self, id: &str, body: &UpdateActionInput) -> Result<Action, Error> {
        let call = Call::new(Method::PATCH, action_path(id, &[])).json(body)?;
        self.send_json(call.action(id)).await
    }

    /// `POST .../actions/{id}/draft`: a draft from the published action.
    pub async fn create_draft(&self, id: &str) -> Result<Action, Error> {
        let call = Call::new(Method::POST, action_path(id, &["draft"]));
        self.send_json(call.action(id)).await
    }

    /// `DELETE .../actions/{id}/draft`: the draft is discarded; the published action stays.
    /// Not repeated after a lost answer (see `RetryPolicy`): the draft there then may be
    /// someone else's.
    pub async fn delete_draft(&self, id: &str) -> Result<(), Error> {
        let call = Call::new(Method::DELETE, action_path(id, &["draft"]));
        self.send(call.action(id)).await.map(|_| ())
    }

    pub async fn get_draft(&self, id: &str, include_config: bool) -> Result<Action, Error> {
        let call = Call::new(Method::GET, action_path(id, &["draft"]))
            .query("includeConfig", include_config);
        self.send_json(call.action(id)).await
    }

    /// The draft read whole: config and contract.
    pub async fn get_draft_whole(&self, id: &str) -> Result<Action, Error> {
        let call = Call::new(Method::GET, action_path(id, &["draft"]))
            .query("includeConfig", true)
            .query("expand", "contract");
        self.send_json(call.action(id)).await
    }

    /// `GET .../actions/{id}/draft/templates/{fileName}`: a template's text in the draft.
    pub async fn get_draft_template(&self, id: &str, file_name: &str) -> Result<String, Error> {
        let call = Call::new(
            Method::GET,
            action_path(id, &["draft", "templates", file_name]),
        );
        self.send_text(call.action(id)).await
    }

    pub async fn patch_draft(&self, id: &str, body: &UpdateDraftInput) -> Result<Action, Error> {
        let call = Call::new(Method::PATCH, action_path(id, &["draft"])).json(body)?;
        self.send_json(call.action(id)).await
    }

    pub async fn validate_draft(&self, id: &str) -> Result<DraftValidationResult, Error> {
        let call = Call::new(Method::GET, action_path(id, &["draft", "validation"]));
        self.send_json(call.action(id)).await
    }

    /// `POST .../actions/{id}/draft/publish {version}`: the draft becomes the action.
    pub async fn publish_draft(&self, id: &str, version: i64) -> Result<Action, Error> {
        let call = Call::new(Method::POST, action_path(id, &["draft", "publish"]))
            .json(&PublishDraftInput { version })?;
        self.send_json(call.action(id)).await
    }

    /// `GET .../actions/{id}/function`: a function data action's published function settings.
    pub async fn get_function(&self, id: &str) -> Result<FunctionConfig, Error> {
        let call = Call::new(Method::GET, action_path(id, &["function"]));
        self.send_json(call.action(id)).await
    }

    pub async fn get_draft_function(&self, id: &str) -> Result<FunctionConfig, Error> {
        let call = Call::new(Method::GET, action_path(id, &["draft", "function"]));
        self.send_json(call.action(id)).await
    }

    /// `PUT .../actions/{id}/draft/function`: the draft's function settings, whole.
    pub async fn put_draft_function(
        &self,
        id: &str,
        body: &Function,
    ) -> Result<FunctionConfig, Error> {
        let call = Call::new(Method::PUT, action_path(id, &["draft", "function"])).json(body)?;
        self.send_json(call.action(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ids: &[&str], total: Option<u64>) -> EntityListing<Integration> {
        EntityListing {
            entities: ids
                .iter()
                .map(|id| Integration {
                    id: (*id).to_owned(),
                    name: None,
                    integration_type: None,
                    extra: Default::default(),
                })
                .collect(),
            page_size: None,
            page_number: None,
            total,
            page_count: None,
            first_uri: None,
            next_uri: None,
            previous_uri: None,
            last_uri: None,
            self_uri: None,
        }
    }

    fn pass(pages: &[(&[&str], Option<u64>)]) -> Pass<Integration> {
        let mut pass = Pass::new(pages[0].1);
        for (ids, total) in pages {
            pass.add(page(ids, *total));
        }
        pass
    }

    #[test]
    fn a_pass_keeps_each_id_once_and_is_unsettled_when_one_came_twice() {
        // "c" moved to the front after page 1: "b" shifted onto page 2, "c" was never seen.
        let shifted = pass(&[(&["a", "b"], Some(4)), (&["b", "d"], Some(4))]);
        let ids: Vec<&str> = shifted.entities.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "d"]);
        assert_eq!(shifted.twice, 1);
        assert!(!shifted.settled());
        assert!(pass(&[(&["a", "b"], Some(4)), (&["c", "d"], Some(4))]).settled());
    }

    #[test]
    fn a_pass_short_of_its_total_or_whose_total_moved_is_unsettled() {
        assert!(!pass(&[(&["a", "b"], Some(5)), (&["c", "d"], Some(5))]).settled());
        assert!(!pass(&[(&["a", "b"], Some(4)), (&["c", "d"], Some(5))]).settled());
        // Without a total (nextUri paging) only an id seen twice tells.
        assert!(pass(&[(&["a", "b"], None), (&["c"], None)]).settled());
    }

    #[test]
    fn a_still_pass_that_repeats_the_one_before_is_trusted_whatever_the_total_says() {
        let first = pass(&[(&["a", "b"], Some(9)), (&["c"], Some(9))]);
        let again = pass(&[(&["a", "b"], Some(9)), (&["c"], Some(9))]);
        let other = pass(&[(&["a", "b"], Some(9)), (&["d"], Some(9))]);
        assert!(!again.settled());
        assert!(again.repeats(&first));
        assert!(!other.repeats(&first));
    }
}
