//! Regions: what the user typed (`eu-west-1`, `mypurecloud.ie`, `http://127.0.0.1:8080`) → a
//! `Target` with the API and login base URLs.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The region name when one was given or is known for the domain, e.g. `eu-west-1`.
    pub region: Option<String>,
    /// e.g. `https://api.mypurecloud.ie`, or the local base URL.
    pub api_base: Url,
    /// e.g. `https://login.mypurecloud.ie`, or the local base URL.
    pub login_base: Url,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("TODO")]
pub struct RegionError {
    pub input: String,
}

impl Target {
    /// Parses a region name, a domain, or a local `http://127.0.0.1:PORT` / `http://localhost:PORT`.
    pub fn parse(_input: &str) -> Result<Target, RegionError> {
        todo!("genesys::region::Target::parse")
    }

    /// A local base URL serving both the token and the API paths (the sandbox).
    pub fn local(_base: &Url) -> Target {
        todo!("genesys::region::Target::local")
    }
}
