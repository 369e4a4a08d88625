//! `dactl sandbox`'s flags: the emulated org, its limits, faults and platform variants.

use clap::Args;

use crate::sandbox::{SandboxOptions, Variants};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Generate N actions instead of the hand-written seed org.
    #[arg(long, value_name = "N")]
    pub actions: Option<usize>,
    /// Seed for generated actions and faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delay every response by this many milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Requests per minute per token before 429s.
    #[arg(long, default_value_t = 300, value_name = "PER_MINUTE",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
    /// Fraction (0 to 1) of API requests answered with a 429, a 503 or a dropped connection.
    #[arg(long, default_value_t = 0.0, value_name = "F", value_parser = parse_fraction)]
    pub fault_rate: f64,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 86399, value_name = "SECS")]
    pub token_ttl: u64,
    /// A client with read and write permission, as ID:SECRET (repeatable; default sandbox:sandbox).
    #[arg(long, value_name = "ID:SECRET", value_parser = parse_client)]
    pub client: Vec<(String, String)>,
    /// A client that may read but not write, as ID:SECRET (repeatable).
    #[arg(long, value_name = "ID:SECRET", value_parser = parse_client)]
    pub read_only_client: Vec<(String, String)>,
    /// Token requests per minute per client before `POST /oauth/token` answers 400
    /// `rate limit exceeded`.
    #[arg(long, default_value_t = 60, value_name = "PER_MINUTE",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub token_rate_limit: u32,
    /// The first N action PATCHes also replace a template with the platform's default text (a
    /// platform that changes more than asked: what a canary write must catch).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub corrupt_writes: u32,
    /// After each of the first N pages of an actions listing, the action last by name is renamed
    /// to sort first (another admin editing while dactl lists: every later page shifts by one).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub renames_during_listing: u32,
    /// Keep every API request and its answer, bodies included, for `GET /sandbox/exchanges`.
    #[arg(long)]
    pub record_exchanges: bool,
    /// What GET, the listing and GET .../draft return for template text [default: uri].
    ///
    /// uri: only requestTemplateUri/successTemplateUri (public tools that copy actions between
    /// orgs report every action read this way); inline: the text in config (the SDK models list
    /// it); mixed: some actions each way.
    #[arg(long, value_name = "SHAPE", value_parser = ["uri", "inline", "mixed"])]
    pub templates: Option<String>,
    /// What a write whose config lacks a template's text does to it [default: default].
    ///
    /// default: the platform substitutes ${input.rawRequest} and ${rawResult} (the shared notes);
    /// keep: the stored text is kept (the lenient reading).
    #[arg(long, value_name = "WHAT", value_parser = ["default", "keep"])]
    pub template_on_missing: Option<String>,
    /// How a write with a stale version is refused [default: 400].
    ///
    /// 400: bad.request, message "does not match the current version"; 409: conflict. Both are
    /// seen; which the actions API sends is unconfirmed.
    #[arg(long, value_name = "STATUS", value_parser = ["400", "409"])]
    pub conflict_status: Option<String>,
    /// How the token endpoint refuses bad client credentials [default: 400].
    ///
    /// 400 shares its status with the token endpoint's own rate limit; 401 is the other
    /// reading of the notes.
    #[arg(long, value_name = "STATUS", value_parser = ["400", "401"])]
    pub token_error_status: Option<String>,
    /// Which paging fields listings carry [default: page-count].
    ///
    /// page-count: pageCount, total, lastUri, nextUri (the contract's listing); next-uri: only
    /// nextUri to follow.
    #[arg(long, value_name = "FIELDS", value_parser = ["page-count", "next-uri"])]
    pub paging: Option<String>,
    /// Whether the actions aggregates query fills p95/p99 [default: absent].
    ///
    /// absent: never filled (the fields exist in the models, but nothing confirms this endpoint
    /// fills them); present: exact p95/p99 of tTotalExecution.
    #[arg(long, value_name = "FIELDS", value_parser = ["absent", "present"])]
    pub percentiles: Option<String>,
}

impl SandboxArgs {
    /// The options to serve with: `variants` (from `--sandbox-variant`) first, then this
    /// command's own flags.
    pub fn options(self, variants: &[String]) -> SandboxOptions {
        let defaults = SandboxOptions::default();
        let mut chosen = sandbox_variants(variants);
        let flags = [
            ("templates", &self.templates),
            ("template-on-missing", &self.template_on_missing),
            ("conflict-status", &self.conflict_status),
            ("token-error-status", &self.token_error_status),
            ("paging", &self.paging),
            ("percentiles", &self.percentiles),
        ];
        for (option, value) in flags {
            if let Some(value) = value {
                // clap checked the value against the same list.
                let _ = chosen.set(option, value);
            }
        }
        SandboxOptions {
            listen: self.listen,
            actions: self.actions,
            seed: self.seed,
            latency_ms: self.latency_ms,
            rate_limit: self.rate_limit,
            fault_rate: self.fault_rate,
            token_ttl_secs: self.token_ttl,
            clients: if self.client.is_empty() {
                defaults.clients
            } else {
                self.client
            },
            read_only_clients: self.read_only_client,
            token_rate_limit: self.token_rate_limit,
            corrupt_writes: self.corrupt_writes,
            renames_during_listing: self.renames_during_listing,
            record_exchanges: self.record_exchanges,
            variants: chosen,
            ..defaults
        }
    }
}

/// The variants `--sandbox-variant` chose (each value was checked when parsed).
pub fn sandbox_variants(pairs: &[String]) -> Variants {
    let mut variants = Variants::default();
    for pair in pairs {
        let _ = variants.apply(pair);
    }
    variants
}
pub(super) fn parse_client(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok((id.to_owned(), secret.to_owned()))
        }
        _ => Err("a client is ID:SECRET, e.g. `reader:reader-secret`".to_owned()),
    }
}

pub(super) fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "`{text}` is not a fraction from 0 to 1, e.g. `0.2`"
        )),
    }
}
