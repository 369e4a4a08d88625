//! `Client`: the one send path, and the endpoints built on it.
//!
//! Cheap to clone (an `Arc` inside): every clone shares the token cache, rate limiter,
//! concurrency limit and 429 back-off of the process.

use std::time::Duration;

use crate::genesys::models::*;
use crate::genesys::{Error, Target};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub enum Credentials {
    ClientCredentials { client_id: String, client_secret: Secret },
    AccessToken(Secret),
}

/// Retry rules (documented on the real type).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub max_retry_after: Duration,
    pub max_total: Duration,
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub target: Target,
    pub credentials: Credentials,
    /// Requests per minute, for every request of the process.
    pub rate_per_minute: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

/// Filters for `GET /api/v2/integrations/actions`; every page is fetched (pageSize 100).
#[derive(Debug, Clone, Default)]
pub struct ActionQuery {
    pub category: Option<String>,
    pub name: Option<String>,
    pub ids: Vec<String>,
    pub secure: Option<bool>,
    pub include_auth_actions: bool,
    pub include_config: bool,
}

#[derive(Debug, Clone)]
pub struct Client {}

impl Client {
    pub fn new(_options: ClientOptions) -> Result<Client, Error> {
        todo!()
    }
    pub fn target(&self) -> &Target {
        todo!()
    }
    /// Mints a token now (or reuses the cached one); returns its remaining lifetime.
    pub async fn authenticate(&self) -> Result<Duration, Error> {
        todo!()
    }
    pub async fn list_actions(&self, _query: &ActionQuery) -> Result<Vec<Action>, Error> {
        todo!()
    }
    pub async fn get_action(&self, _id: &str, _include_config: bool) -> Result<Action, Error> {
        todo!()
    }
    pub async fn get_template(&self, _id: &str, _file_name: &str) -> Result<String, Error> {
        todo!()
    }
    pub async fn patch_action(&self, _id: &str, _body: &UpdateActionInput) -> Result<Action, Error> {
        todo!()
    }
    pub async fn create_draft(&self, _id: &str) -> Result<Action, Error> {
        todo!()
    }
    pub async fn get_draft(&self, _id: &str, _include_config: bool) -> Result<Action, Error> {
        todo!()
    }
    pub async fn patch_draft(&self, _id: &str, _body: &UpdateDraftInput) -> Result<Action, Error> {
        todo!()
    }
    pub async fn validate_draft(&self, _id: &str) -> Result<DraftValidationResult, Error> {
        todo!()
    }
    pub async fn publish_draft(&self, _id: &str, _version: i64) -> Result<Action, Error> {
        todo!()
    }
    pub async fn get_function(&self, _id: &str) -> Result<FunctionConfig, Error> {
        todo!()
    }
    pub async fn get_draft_function(&self, _id: &str) -> Result<FunctionConfig, Error> {
        todo!()
    }
    pub async fn put_draft_function(&self, _id: &str, _body: &Function) -> Result<FunctionConfig, Error> {
        todo!()
    }
    pub async fn list_integrations(&self) -> Result<Vec<Integration>, Error> {
        todo!()
    }
}
