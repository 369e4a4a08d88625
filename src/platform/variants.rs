//! The platform behaviours the shared notes mark UNCONFIRMED, each as a sandbox variant.
//!
//! Genesys Cloud cannot be reached from here, so where the notes leave a behaviour open the
//! sandbox offers every plausible one, defaults to the harshest one a source supports, and dactl
//! must be right under all of them. One table ([`VARIANTS`]) names each option, its values, its
//! default and the source behind each value; `dactl sandbox --help`, `--sandbox-variant` and the
//! README's variant table are all checked against it.
//!
//! The same options reach a sandbox three ways: `dactl sandbox --templates uri ...` (a served
//! org), `--sandbox-variant templates=uri` on any command with `--sandbox` (an in-process org),
//! and the environment variable `DACTL_SANDBOX_VARIANT=templates=uri,conflict-status=409` (which
//! the flag overrides). All three go through [`Variants::set`].

use std::fmt;

/// What `GET .../actions/{id}`, the actions listing and `GET .../draft` return for template text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Templates {
    /// Only `requestTemplateUri` / `successTemplateUri`; the text is behind `/templates/{file}`.
    #[default]
    Uri,
    /// The text inline (`requestTemplate` / `successTemplate`), no URI.
    Inline,
    /// Some actions one way, some the other (decided per action, stable for its id).
    Mixed,
}

/// What a write (PATCH of an action or its draft) does to a template its config does not carry
/// as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TemplateOnMissing {
    /// The platform's defaults replace it: `${input.rawRequest}` and `${rawResult}`.
    #[default]
    Default,
    /// The stored text is kept.
    Keep,
}

/// How a write with a stale version is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictStatus {
    /// 400 `bad.request` whose message contains `does not match the current version`.
    #[default]
    BadRequest,
    /// 409 `conflict` with the same message.
    Conflict,
}

/// How the token endpoint refuses bad client credentials (`invalid_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenErrorStatus {
    /// 400, the status its own rate limit also answers with.
    #[default]
    BadRequest,
    /// 401.
    Unauthorized,
}

/// Which paging fields a listing carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paging {
    /// `pageCount`, `total`, `lastUri` and `nextUri`: a client can fetch pages concurrently.
    #[default]
    PageCount,
    /// Only `nextUri` (and `firstUri`, `previousUri`, `selfUri`): pages must be followed.
    NextUri,
}

/// Whether `POST /api/v2/analytics/actions/aggregates/query` fills `p95`/`p99`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Percentiles {
    /// The fields are never filled: a client must estimate percentiles from its views.
    #[default]
    Absent,
    /// `p95` and `p99` of `tTotalExecution` (exact, nearest rank, whole milliseconds).
    Present,
}

/// One choice per UNCONFIRMED behaviour. `Default` is the harshest set the sources support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Variants {
    pub templates: Templates,
    pub template_on_missing: TemplateOnMissing,
    pub conflict_status: ConflictStatus,
    pub token_error_status: TokenErrorStatus,
    pub paging: Paging,
    pub percentiles: Percentiles,
}

/// One option: its name, its values (the default first) and the source behind each value.
pub struct VariantDoc {
    pub option: &'static str,
    pub values: &'static [(&'static str, &'static str)],
    /// What the option decides.
    pub about: &'static str,
}

/// Every option, as `dactl sandbox --help` and the README show them. The first value is the
/// default.
pub const VARIANTS: &[VariantDoc] = &[
    VariantDoc {
        option: "templates",
        about: "what GET, the listing and GET .../draft return for template text",
        values: &[
            (
                "uri",
                "only requestTemplateUri/successTemplateUri; public tools that copy actions between orgs report every action read this way, and the Terraform provider always reads /templates/ after its GET",
            ),
            (
                "inline",
                "the text inline in config; the SDK models list requestTemplate/successTemplate",
            ),
            (
                "mixed",
                "some actions each way; the notes say GET *often* returns only the URI",
            ),
        ],
    },
    VariantDoc {
        option: "template-on-missing",
        about: "what a write whose config lacks a template's text does to that template",
        values: &[
            (
                "default",
                "the platform substitutes ${input.rawRequest} (request) and ${rawResult} (success); shared notes, 'Changing a timeout safely' step 2",
            ),
            ("keep", "the stored text is kept: the lenient reading"),
        ],
    },
    VariantDoc {
        option: "conflict-status",
        about: "how a write with a stale version is refused",
        values: &[
            (
                "400",
                "400 bad.request, message 'does not match the current version'; seen, and the Terraform provider's retry treats it as a version mismatch",
            ),
            (
                "409",
                "409 conflict; seen, and in the contract's PATCH responses",
            ),
        ],
    },
    VariantDoc {
        option: "token-error-status",
        about: "how the token endpoint refuses bad client credentials (invalid_client)",
        values: &[
            (
                "400",
                "400, the status the token endpoint's own rate limit also uses; the notes: 400 or 401",
            ),
            ("401", "401; the notes: 400 or 401"),
        ],
    },
    VariantDoc {
        option: "paging",
        about: "which paging fields a listing carries",
        values: &[
            (
                "page-count",
                "pageCount, total, lastUri and nextUri, as ActionEntityListing in the contract",
            ),
            (
                "next-uri",
                "only nextUri to follow; the SDKs' paging helpers follow nextUri",
            ),
        ],
    },
    VariantDoc {
        option: "percentiles",
        about: "whether the actions aggregates query fills p95/p99 of tTotalExecution",
        values: &[
            (
                "absent",
                "never filled; StatisticalSummary has the fields, but nothing confirms this endpoint fills them",
            ),
            (
                "present",
                "filled; the admin UI's Data Actions Performance Summary shows 95 % and 99 % durations",
            ),
        ],
    },
];

impl Variants {
    /// Sets one option from its name and value as written on the command line.
    pub fn set(&mut self, option: &str, value: &str) -> Result<(), String> {
        let option = option.trim();
        let value = value.trim();
        let bad = || {
            let doc = VARIANTS.iter().find(|d| d.option == option);
            let values: Vec<&str> = doc
                .map(|d| d.values.iter().map(|(v, _)| *v).collect())
                .unwrap_or_default();
            format!(
                "`{value}` is not a value of the sandbox option `{option}`; use one of: {}",
                values.join(", ")
            )
        };
        match option {
            "templates" => {
                self.templates = match value {
                    "uri" => Templates::Uri,
                    "inline" => Templates::Inline,
                    "mixed" => Templates::Mixed,
                    _ => return Err(bad()),
                }
            }
            "template-on-missing" => {
                self.template_on_missing = match value {
                    "default" => TemplateOnMissing::Default,
                    "keep" => TemplateOnMissing::Keep,
                    _ => return Err(bad()),
                }
            }
            "conflict-status" => {
                self.conflict_status = match value {
                    "400" => ConflictStatus::BadRequest,
                    "409" => ConflictStatus::Conflict,
                    _ => return Err(bad()),
                }
            }
            "token-error-status" => {
                self.token_error_status = match value {
                    "400" => TokenErrorStatus::BadRequest,
                    "401" => TokenErrorStatus::Unauthorized,
                    _ => return Err(bad()),
                }
            }
            "paging" => {
                self.paging = match value {
                    "page-count" => Paging::PageCount,
                    "next-uri" => Paging::NextUri,
                    _ => return Err(bad()),
                }
            }
            "percentiles" => {
                self.percentiles = match value {
                    "absent" => Percentiles::Absent,
                    "present" => Percentiles::Present,
                    _ => return Err(bad()),
                }
            }
            _ => {
                let names: Vec<&str> = VARIANTS.iter().map(|d| d.option).collect();
                return Err(format!(
                    "`{option}` is not a sandbox option; the options are: {}",
                    names.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Applies a list like `templates=inline,conflict-status=409` (commas or spaces between).
    pub fn apply(&mut self, list: &str) -> Result<(), String> {
        for pair in list
            .split([',', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((option, value)) = pair.split_once('=') else {
                return Err(format!(
                    "`{pair}` is not OPTION=VALUE; write e.g. `templates=inline`"
                ));
            };
            self.set(option, value)?;
        }
        Ok(())
    }

    /// The value of every option, as written on the command line, in [`VARIANTS`] order.
    pub fn values(&self) -> [(&'static str, &'static str); 6] {
        [
            (
                "templates",
                match self.templates {
                    Templates::Uri => "uri",
                    Templates::Inline => "inline",
                    Templates::Mixed => "mixed",
                },
            ),
            (
                "template-on-missing",
                match self.template_on_missing {
                    TemplateOnMissing::Default => "default",
                    TemplateOnMissing::Keep => "keep",
                },
            ),
            (
                "conflict-status",
                match self.conflict_status {
                    ConflictStatus::BadRequest => "400",
                    ConflictStatus::Conflict => "409",
                },
            ),
            (
                "token-error-status",
                match self.token_error_status {
                    TokenErrorStatus::BadRequest => "400",
                    TokenErrorStatus::Unauthorized => "401",
                },
            ),
            (
                "paging",
                match self.paging {
                    Paging::PageCount => "page-count",
                    Paging::NextUri => "next-uri",
                },
            ),
            (
                "percentiles",
                match self.percentiles {
                    Percentiles::Absent => "absent",
                    Percentiles::Present => "present",
                },
            ),
        ]
    }
}

impl fmt::Display for Variants {
    /// `templates=uri,template-on-missing=default,...`: what [`Variants::apply`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self
            .values()
            .iter()
            .map(|(option, value)| format!("{option}={value}"))
            .collect();
        write!(f, "{}", pairs.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_first_value_of_every_option() {
        let defaults = Variants::default().values();
        assert_eq!(defaults.len(), VARIANTS.len());
        for ((option, value), doc) in defaults.iter().zip(VARIANTS) {
            assert_eq!(*option, doc.option);
            assert_eq!(*value, doc.values[0].0, "{option}");
        }
    }

    #[test]
    fn every_documented_value_can_be_set_and_reads_back() {
        for doc in VARIANTS {
            for (value, _) in doc.values {
                let mut variants = Variants::default();
                variants.set(doc.option, value).unwrap();
                let shown = variants.values();
                assert!(shown.contains(&(doc.option, value)), "{shown:?}");
                let mut again = Variants::default();
                again.apply(&variants.to_string()).unwrap();
                assert_eq!(again, variants);
            }
        }
    }

    #[test]
    fn unknown_options_and_values_name_the_choices() {
        let mut variants = Variants::default();
        let e = variants.set("templates", "html").unwrap_err();
        assert!(
            e.contains("`html`") && e.contains("uri, inline, mixed"),
            "{e}"
        );
        let e = variants.set("colour", "red").unwrap_err();
        assert!(
            e.contains("`colour`") && e.contains("conflict-status"),
            "{e}"
        );
        let e = variants.apply("templates").unwrap_err();
        assert!(e.contains("OPTION=VALUE"), "{e}");
        assert_eq!(
            variants,
            Variants::default(),
            "a refused value changes nothing"
        );
    }
}
