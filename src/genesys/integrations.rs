//! Integrations endpoint: one listing tells which integration (and so which kind) every action
//! belongs to, without a request per action.

use crate::genesys::Error;
use crate::genesys::client::Client;
use crate::genesys::models::Integration;

impl Client {
    /// `GET /api/v2/integrations`, every page.
    pub async fn list_integrations(&self) -> Result<Vec<Integration>, Error> {
        self.list_pages(&["api", "v2", "integrations"], &[]).await
    }
}
