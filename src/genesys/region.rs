//! Regions: what the user typed (`eu-west-1`, `mypurecloud.ie`, `http://127.0.0.1:8080`) → a
//! `Target` with the API and login base URLs.
//!
//! Accepted, case-insensitive and trimmed: every region name of [`REGIONS`] (also with
//! underscores, as the `gc` CLI spells three of them), every domain, the domain prefixed with
//! `api.` or `login.`, the same as an `https://` URL without a path, and a local base URL
//! (`http://127.0.0.1:PORT`, `http://localhost:PORT`, `http://[::1]:PORT`, or bare
//! `localhost:PORT`) that serves both the token and the API paths. Plain http to any other host is
//! refused: the client secret and the tokens would cross the network unencrypted. Arbitrary https
//! hosts are refused too, so a typo cannot send credentials to a stranger.

use std::fmt;

use url::Url;

/// Every Genesys Cloud region dactl knows: (region name, domain). API host `api.<domain>`, login
/// host `login.<domain>`.
pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("eu-west-1", "mypurecloud.ie"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("eu-central-1", "mypurecloud.de"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The region name when one was given or is known for the domain, e.g. `eu-west-1`.
    pub region: Option<String>,
    /// e.g. `https://api.mypurecloud.ie`, or the local base URL.
    pub api_base: Url,
    /// e.g. `https://login.mypurecloud.ie`, or the local base URL.
    pub login_base: Url,
}

/// Why an input is not a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionProblem {
    /// Nothing was given.
    Empty,
    /// Neither a region name, a known domain, nor a local URL.
    Unknown,
    /// `http://` to a host other than this machine.
    PlainHttp,
    /// A URL with a path, port, query or user name; only a bare origin is a target.
    HasPath,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionError {
    pub input: String,
    pub problem: RegionProblem,
}

impl std::error::Error for RegionError {}

/// `us-east-1 (mypurecloud.com), eu-west-1 (mypurecloud.ie), ...`
pub fn region_list() -> String {
    REGIONS
        .iter()
        .map(|(name, domain)| format!("{name} ({domain})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = &self.input;
        match self.problem {
            RegionProblem::Empty => write!(
                f,
                "The region is empty. Give a region name or domain, one of: {}.",
                region_list()
            ),
            RegionProblem::Unknown => write!(
                f,
                "`{input}` is not a Genesys Cloud region or domain. Use one of: {}; or, for a local \
                 sandbox only, a URL like `http://127.0.0.1:8080`.",
                region_list()
            ),
            RegionProblem::PlainHttp => write!(
                f,
                "`{input}` uses plain http to a host other than this machine; dactl refuses it because \
                 the client credentials and access tokens would travel unencrypted. Use a region name \
                 such as `eu-west-1` (dactl then uses https), or plain http only to `127.0.0.1`, \
                 `localhost` or `[::1]`."
            ),
            RegionProblem::HasPath => write!(
                f,
                "`{input}` has a path, port, query or user name; give only the region or domain, such as \
                 `eu-west-1` or `mypurecloud.ie`, or a local base URL such as `http://127.0.0.1:8080`."
            ),
        }
    }
}

impl fmt::Display for Target {
    /// `eu-west-1 (api.mypurecloud.ie)`, or the local base URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.api_base.host_str().unwrap_or_default();
        match &self.region {
            Some(region) => write!(f, "{region} ({host})"),
            None => write!(f, "{}", self.api_base.as_str().trim_end_matches('/')),
        }
    }
}

impl Target {
    /// Parses a region name, a domain, or a local `http://127.0.0.1:PORT` / `http://localhost:PORT`.
    pub fn parse(input: &str) -> Result<Target, RegionError> {
        let error = |problem| RegionError {
            input: input.to_string(),
            problem,
        };
        let text = input.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(error(RegionProblem::Empty));
        }
        if let Some(target) = Self::known(&text) {
            return Ok(target);
        }
        // Bare `localhost:PORT` (the `gc` CLI's spelling) and `127.0.0.1:PORT` mean plain http.
        let with_scheme = if text.contains("://") {
            text
        } else {
            format!("http://{text}")
        };
        let Ok(url) = Url::parse(&with_scheme) else {
            return Err(error(RegionProblem::Unknown));
        };
        let bare_origin = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        match url.scheme() {
            "http" if is_loopback(&url) => match bare_origin {
                true => Ok(Target::local(&url)),
                false => Err(error(RegionProblem::HasPath)),
            },
            "http" if input.trim().to_ascii_lowercase().starts_with("http://") => {
                Err(error(RegionProblem::PlainHttp))
            }
            "https" => match url.host_str().and_then(Self::known) {
                Some(_) if !bare_origin || url.port().is_some() => {
                    Err(error(RegionProblem::HasPath))
                }
                Some(target) => Ok(target),
                None => Err(error(RegionProblem::Unknown)),
            },
            _ => Err(error(RegionProblem::Unknown)),
        }
    }

    /// A local base URL serving both the token and the API paths (the sandbox).
    pub fn local(base: &Url) -> Target {
        let mut base = base.clone();
        base.set_path("/");
        base.set_query(None);
        base.set_fragment(None);
        Target {
            region: None,
            api_base: base.clone(),
            login_base: base,
        }
    }

    /// Whether this target is a local URL (the sandbox) rather than a Genesys Cloud region.
    pub fn is_local(&self) -> bool {
        is_loopback(&self.api_base)
    }

    /// A region name, a domain, or `api.`/`login.` + a domain, already lower case.
    fn known(text: &str) -> Option<Target> {
        let name = text.replace('_', "-");
        let domain = text
            .strip_prefix("api.")
            .or_else(|| text.strip_prefix("login."))
            .unwrap_or(text);
        let (region, domain) = REGIONS
            .iter()
            .find(|(region, known)| *region == name || *known == domain)?;
        let url = |host: &str| Url::parse(&format!("https://{host}.{domain}/")).ok();
        Some(Target {
            region: Some(region.to_string()),
            api_base: url("api")?,
            login_base: url("login")?,
        })
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn api(input: &str) -> String {
        Target::parse(input).unwrap().api_base.to_string()
    }

    #[test]
    fn every_region_name_and_domain_parses() {
        for (name, domain) in REGIONS {
            for input in [
                name.to_string(),
                domain.to_string(),
                name.to_uppercase(),
                format!("  {domain} "),
                format!("api.{domain}"),
                format!("login.{domain}"),
                format!("https://api.{domain}"),
                format!("https://api.{domain}/"),
                format!("https://{domain}"),
            ] {
                let target = Target::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
                assert_eq!(target.region.as_deref(), Some(*name), "{input}");
                assert_eq!(target.api_base.as_str(), format!("https://api.{domain}/"));
                assert_eq!(
                    target.login_base.as_str(),
                    format!("https://login.{domain}/")
                );
                assert!(!target.is_local());
            }
        }
    }

    #[test]
    fn underscore_spellings_of_the_gc_cli() {
        assert_eq!(api("me_central_1"), "https://api.mec1.pure.cloud/");
        assert_eq!(api("ap_northeast_3"), "https://api.apne3.pure.cloud/");
        assert_eq!(api("EU_CENTRAL_2"), "https://api.euc2.pure.cloud/");
    }

    #[test]
    fn local_urls_serve_token_and_api() {
        for (input, base) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
            ("http://localhost:41235/", "http://localhost:41235/"),
            ("HTTP://LOCALHOST:9", "http://localhost:9/"),
            ("http://[::1]:7000", "http://[::1]:7000/"),
            ("localhost:5000", "http://localhost:5000/"),
            ("127.0.0.1:5000", "http://127.0.0.1:5000/"),
        ] {
            let target = Target::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(target.api_base.as_str(), base);
            assert_eq!(target.login_base, target.api_base);
            assert_eq!(target.region, None);
            assert!(target.is_local());
        }
    }

    #[test]
    fn plain_http_to_another_host_is_refused_with_the_reason() {
        let err = Target::parse("http://example.com").unwrap_err();
        assert_eq!(err.problem, RegionProblem::PlainHttp);
        let text = err.to_string();
        assert!(text.contains("`http://example.com`"), "{text}");
        assert!(text.contains("unencrypted"), "{text}");
        assert_eq!(
            Target::parse("http://api.mypurecloud.ie")
                .unwrap_err()
                .problem,
            RegionProblem::PlainHttp
        );
    }

    #[test]
    fn unknown_input_names_itself_and_lists_regions() {
        for input in [
            "mars-1",
            "example.com",
            "https://example.com",
            "us-east-9",
            "ftp://127.0.0.1:1",
        ] {
            let err = Target::parse(input).unwrap_err();
            assert_eq!(err.problem, RegionProblem::Unknown, "{input}");
            let text = err.to_string();
            assert!(text.contains(&format!("`{input}`")), "{text}");
            assert!(text.contains("eu-west-1 (mypurecloud.ie)"), "{text}");
            assert!(text.contains("eusc-de-east-1"), "{text}");
        }
        assert_eq!(
            Target::parse("  ").unwrap_err().problem,
            RegionProblem::Empty
        );
    }

    #[test]
    fn urls_with_a_path_are_refused() {
        for input in [
            "https://api.mypurecloud.ie/api/v2",
            "https://api.mypurecloud.ie/?x=1",
            "http://127.0.0.1:8080/api",
            "https://user@api.mypurecloud.ie",
        ] {
            let err = Target::parse(input).unwrap_err();
            assert_eq!(err.problem, RegionProblem::HasPath, "{input}");
            assert!(err.to_string().contains(input), "{err}");
        }
    }

    #[test]
    fn local_drops_any_path() {
        let url = Url::parse("http://127.0.0.1:1234/some/where?q").unwrap();
        let target = Target::local(&url);
        assert_eq!(target.api_base.as_str(), "http://127.0.0.1:1234/");
        assert_eq!(target.to_string(), "http://127.0.0.1:1234");
        assert_eq!(
            Target::parse("eu-west-1").unwrap().to_string(),
            "eu-west-1 (api.mypurecloud.ie)"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in ".{0,60}") {
            let _ = Target::parse(&input);
        }

        #[test]
        fn parse_never_panics_on_url_like_input(
            scheme in "(http|https|HTTP|ftp|)(://)?",
            host in "[a-z0-9.:\\[\\]_-]{0,30}",
            rest in "[/?#@a-z0-9%]{0,10}",
        ) {
            let input = format!("{scheme}{host}{rest}");
            if let Ok(target) = Target::parse(&input) {
                // Whatever parses is https, or http to this machine only.
                prop_assert!(target.api_base.scheme() == "https" || target.is_local());
            }
        }
    }
}
