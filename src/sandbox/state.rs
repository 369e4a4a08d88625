//! The sandbox org's state: actions (with drafts and function settings, configs and template
//! text kept apart), integrations, issued tokens, rate-limit windows and request statistics.
//!
//! Everything sits behind one `Mutex` in [`Shared`]; handlers lock it, do their short piece of
//! work and unlock before any `.await`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::SandboxOptions;
use super::variants::{TemplateOnMissing, Templates};
use super::wire::{
    Action, ActionConfig, FUNCTION_INTEGRATION_TYPE, FunctionConfig, InspectedAction,
    InspectedDraft,
};

/// Template file names served by `.../templates/{fileName}`.
pub const REQUEST_TEMPLATE_FILE: &str = "requesttemplate.vm";
pub const SUCCESS_TEMPLATE_FILE: &str = "successtemplate.vm";

/// What the platform puts in place of a request template a write leaves out.
pub const DEFAULT_REQUEST_TEMPLATE: &str = "${input.rawRequest}";
/// What the platform puts in place of a success template a write leaves out.
pub const DEFAULT_SUCCESS_TEMPLATE: &str = "${rawResult}";

/// One template: its file, the config section it belongs to, its text key and its URI key.
#[derive(Debug, Clone, Copy)]
pub struct TemplateField {
    pub file: &'static str,
    pub section: Section,
    pub text_key: &'static str,
    pub uri_key: &'static str,
    /// What a write that leaves the text out gets (`template-on-missing=default`).
    pub default_text: &'static str,
}

pub const TEMPLATE_FIELDS: [TemplateField; 2] = [
    TemplateField {
        file: REQUEST_TEMPLATE_FILE,
        section: Section::Request,
        text_key: "requestTemplate",
        uri_key: "requestTemplateUri",
        default_text: DEFAULT_REQUEST_TEMPLATE,
    },
    TemplateField {
        file: SUCCESS_TEMPLATE_FILE,
        section: Section::Response,
        text_key: "successTemplate",
        uri_key: "successTemplateUri",
        default_text: DEFAULT_SUCCESS_TEMPLATE,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Request,
    Response,
}

fn section_mut(config: &mut ActionConfig, section: Section) -> &mut Map<String, Value> {
    match section {
        Section::Request => config.request.get_or_insert_with(Map::new),
        Section::Response => config.response.get_or_insert_with(Map::new),
    }
}

#[derive(Debug, Clone)]
pub struct Integration {
    pub id: String,
    pub name: String,
    pub type_id: String,
    pub type_name: String,
}

/// A config as the sandbox stores it: the config names its templates by URI only
/// (`requestTemplateUri`/`successTemplateUri`, never the text), and the text of each template is
/// kept apart, byte for byte. How a read shows it is the `templates` variant's business.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body {
    pub config: ActionConfig,
    /// Template text by file name (`requesttemplate.vm`, `successtemplate.vm`).
    pub templates: BTreeMap<String, String>,
}

impl Body {
    /// A body from a config that may carry template text inline: the text moves to `templates`
    /// and the config names it by `uri_base/{file}`.
    pub fn from_config(config: ActionConfig, uri_base: &str) -> Body {
        let mut body = Body::default();
        body.write(config, uri_base, TemplateOnMissing::Keep);
        body
    }

    /// Stores a config a client wrote. Text the config carries is stored as sent; a template
    /// whose text it lacks gets the platform's default text (`TemplateOnMissing::Default`) or
    /// keeps the stored one (`Keep`). URIs are the platform's: the ones sent are dropped and the
    /// stored config names each template that exists at `uri_base/{file}`.
    pub fn write(&mut self, mut config: ActionConfig, uri_base: &str, missing: TemplateOnMissing) {
        for field in TEMPLATE_FIELDS {
            let sent = match field.section {
                Section::Request => config.request.as_mut(),
                Section::Response => config.response.as_mut(),
            }
            .and_then(|section| {
                section.remove(field.uri_key);
                section.remove(field.text_key)
            });
            match (sent, missing) {
                (Some(Value::String(text)), _) => {
                    self.templates.insert(field.file.to_owned(), text);
                }
                (_, TemplateOnMissing::Default) => {
                    self.templates
                        .insert(field.file.to_owned(), field.default_text.to_owned());
                }
                (_, TemplateOnMissing::Keep) => {}
            }
            if self.templates.contains_key(field.file) {
                section_mut(&mut config, field.section).insert(
                    field.uri_key.into(),
                    Value::String(format!("{uri_base}/{}", field.file)),
                );
            }
        }
        self.config = config;
    }

    /// The config as a read shows it: templates by URI only, or with their text inline (and no
    /// URI).
    pub fn shown(&self, inline: bool) -> ActionConfig {
        if !inline {
            return self.config.clone();
        }
        let mut config = self.config.clone();
        for field in TEMPLATE_FIELDS {
            if let Some(text) = self.templates.get(field.file) {
                let section = section_mut(&mut config, field.section);
                section.remove(field.uri_key);
                section.insert(field.text_key.into(), Value::String(text.clone()));
            }
        }
        config
    }

    /// The config as stored, with each template's text added beside its URI
    /// (`/sandbox/actions?templates=text`).
    pub fn with_text(&self) -> ActionConfig {
        let mut config = self.config.clone();
        for field in TEMPLATE_FIELDS {
            if let Some(text) = self.templates.get(field.file) {
                section_mut(&mut config, field.section)
                    .insert(field.text_key.into(), Value::String(text.clone()));
            }
        }
        config
    }

    pub fn template(&self, file: &str) -> Option<&String> {
        self.templates.get(file)
    }

    /// What `corrupt_writes` does to a write: the request template becomes the platform's
    /// default, or, where it already is, the success template does.
    pub fn corrupt(&mut self) {
        let field = if self
            .templates
            .get(REQUEST_TEMPLATE_FILE)
            .is_some_and(|t| t != DEFAULT_REQUEST_TEMPLATE)
        {
            &TEMPLATE_FIELDS[0]
        } else {
            &TEMPLATE_FIELDS[1]
        };
        self.templates
            .insert(field.file.to_owned(), field.default_text.to_owned());
    }
}

/// A published action as the sandbox stores it.
#[derive(Debug, Clone)]
pub struct StoredAction {
    pub id: String,
    pub name: String,
    pub integration_id: String,
    pub category: String,
    pub version: i64,
    pub secure: bool,
    /// A custom authentication action: hidden from listings unless `includeAuthActions=true`,
    /// and `timeoutSeconds` is invalid on it.
    pub custom_auth: bool,
    pub body: Body,
    pub contract: Value,
    /// Function settings of a function data action (published).
    pub function: Option<FunctionConfig>,
    pub draft: Option<Draft>,
}

/// The draft of an action: a copy with its own version, edited and then published.
#[derive(Debug, Clone)]
pub struct Draft {
    pub name: String,
    pub category: String,
    pub version: i64,
    pub secure: bool,
    pub body: Body,
    pub contract: Value,
    pub function: Option<FunctionConfig>,
}

/// Whether reads show this action's template text inline, under the `templates` variant.
/// `Mixed` splits actions by a stable hash of the id: the same action always reads the same way.
pub fn inline_templates(id: &str, templates: Templates) -> bool {
    match templates {
        Templates::Uri => false,
        Templates::Inline => true,
        Templates::Mixed => id.bytes().map(u32::from).sum::<u32>() % 2 == 0,
    }
}

impl StoredAction {
    pub fn is_static(&self) -> bool {
        self.id.starts_with("static")
    }

    pub fn self_uri(&self) -> String {
        format!("/api/v2/integrations/actions/{}", self.id)
    }

    /// Where the published action's templates are served.
    pub fn template_base(&self) -> String {
        format!("{}/templates", self.self_uri())
    }

    /// Where the draft's templates are served.
    pub fn draft_template_base(&self) -> String {
        format!("{}/draft/templates", self.self_uri())
    }

    fn api_shape(&self, config: Option<ActionConfig>, include_contract: bool) -> Action {
        Action {
            id: self.id.clone(),
            name: self.name.clone(),
            integration_id: self.integration_id.clone(),
            category: self.category.clone(),
            version: self.version,
            secure: self.secure,
            config,
            contract: include_contract.then(|| self.contract.clone()),
            self_uri: self.self_uri(),
        }
    }

    /// The API shape: `config` only with `include_config` (its templates shown as the
    /// `templates` variant says), `contract` only with `include_contract`.
    pub fn to_api(
        &self,
        include_config: bool,
        include_contract: bool,
        templates: Templates,
    ) -> Action {
        let inline = inline_templates(&self.id, templates);
        self.api_shape(
            include_config.then(|| self.body.shown(inline)),
            include_contract,
        )
    }

    /// What `GET /sandbox/actions` shows: the action as stored (config naming its templates by
    /// URI, contract, function settings and draft when there are any); with `with_text`, each
    /// template's text beside its URI.
    pub fn to_inspection(&self, with_text: bool) -> InspectedAction {
        let config = |body: &Body| {
            if with_text {
                body.with_text()
            } else {
                body.config.clone()
            }
        };
        InspectedAction {
            action: self.api_shape(Some(config(&self.body)), true),
            function: self.function.clone(),
            draft: self.draft.as_ref().map(|draft| InspectedDraft {
                name: draft.name.clone(),
                category: draft.category.clone(),
                version: draft.version,
                secure: draft.secure,
                config: config(&draft.body),
                contract: draft.contract.clone(),
                function: draft.function.clone(),
            }),
        }
    }

    /// The draft in the API shape, with the draft's own version.
    pub fn draft_to_api(
        &self,
        draft: &Draft,
        include_config: bool,
        include_contract: bool,
        templates: Templates,
    ) -> Action {
        let inline = inline_templates(&self.id, templates);
        Action {
            name: draft.name.clone(),
            category: draft.category.clone(),
            version: draft.version,
            secure: draft.secure,
            contract: include_contract.then(|| draft.contract.clone()),
            self_uri: format!("{}/draft", self.self_uri()),
            ..self.api_shape(include_config.then(|| draft.body.shown(inline)), false)
        }
    }

    /// A new draft: a copy of the published action, templates included, at version 1.
    pub fn new_draft(&self) -> Draft {
        let mut body = self.body.clone();
        let base = self.draft_template_base();
        body.write(body.with_text(), &base, TemplateOnMissing::Keep);
        Draft {
            name: self.name.clone(),
            category: self.category.clone(),
            version: 1,
            secure: self.secure,
            body,
            contract: self.contract.clone(),
            function: self.function.clone(),
        }
    }

    /// Publishing: the action takes the draft's name, category, config, templates, contract and
    /// function settings; its version rises by one.
    pub fn publish(&mut self, draft: Draft) {
        let base = self.template_base();
        let mut body = draft.body;
        body.write(body.with_text(), &base, TemplateOnMissing::Keep);
        self.name = draft.name;
        self.category = draft.category;
        self.secure = draft.secure;
        self.body = body;
        self.contract = draft.contract;
        self.function = draft.function;
        self.version += 1;
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    /// The OAuth client it was issued to (its tokens die with it: `POST /sandbox/clients/{id}/revoke`).
    pub client_id: String,
    pub can_write: bool,
    pub expires: Instant,
}

/// A sliding 60-second window of request times.
#[derive(Debug, Default)]
pub struct Window(VecDeque<Instant>);

pub const WINDOW: Duration = Duration::from_secs(60);

impl Window {
    /// Admits one request if fewer than `limit` were admitted in the last 60 s; otherwise returns
    /// the whole seconds until the oldest one leaves the window (at least 1).
    pub fn admit(&mut self, limit: u32, now: Instant) -> Result<(), u64> {
        while let Some(front) = self.0.front() {
            if now.duration_since(*front) >= WINDOW {
                self.0.pop_front();
            } else {
                break;
            }
        }
        if self.0.len() < limit as usize {
            self.0.push_back(now);
            return Ok(());
        }
        let oldest = self.0.front().copied().unwrap_or(now);
        let wait = WINDOW.saturating_sub(now.duration_since(oldest));
        Err(wait.as_secs_f64().ceil().max(1.0) as u64)
    }
}

pub struct State {
    pub options: SandboxOptions,
    pub actions: BTreeMap<String, StoredAction>,
    pub integrations: Vec<Integration>,
    pub tokens: HashMap<String, Token>,
    /// Every access token issued, oldest first (for `GET /sandbox/tokens`).
    pub issued_tokens: Vec<String>,
    pub api_windows: HashMap<String, Window>,
    pub token_windows: HashMap<String, Window>,
    /// (method, route template, status) → count. Status 0: connection dropped, nothing sent.
    pub stats: BTreeMap<(String, String, u16), u64>,
    /// Per access token, keyed by [`token_key`] (never the token): API requests it was admitted
    /// for, and requests refused with a 429 by its rate limit.
    pub token_stats: BTreeMap<String, TokenStats>,
    /// API and token requests being answered now, and the most there ever were at once.
    pub in_flight: u64,
    pub peak_in_flight: u64,
    /// Requests to the actions listing with `ids=` (also counted in `stats`): reads of named
    /// actions, apart from the pages of a listing.
    pub listings_by_ids: u64,
    /// Action PATCHes still to be corrupted (`SandboxOptions::corrupt_writes`).
    pub corrupt_writes_left: u32,
    /// Faults in a row per request (method, path and query), while `fault_rate` is below 1.
    pub fault_streaks: HashMap<String, u32>,
    /// Listing pages still to be followed by a rename (`SandboxOptions::renames_during_listing`).
    pub renames_left: u32,
    /// Every exchange, in the order answered, when `SandboxOptions::record_exchanges` is on.
    pub exchanges: Vec<super::gateway::Exchange>,
    /// Every action's execution history (seeded, read-only; shared with queries running
    /// outside the lock).
    pub history: Arc<super::executions::History>,
    pub rng: fastrand::Rng,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct TokenStats {
    pub admitted: u64,
    pub throttled: u64,
}

/// A stable, one-way key for a token in `/sandbox/stats`: 16 hex digits of a hash, so tests can
/// count requests per token without the sandbox ever showing a token there.
pub fn token_key(token: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    token.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

impl State {
    pub fn integration(&self, id: &str) -> Option<&Integration> {
        self.integrations.iter().find(|i| i.id == id)
    }

    pub fn is_function_action(&self, action: &StoredAction) -> bool {
        self.integration(&action.integration_id)
            .is_some_and(|i| i.type_id == FUNCTION_INTEGRATION_TYPE)
    }
}

/// A fresh id shaped like a UUID (`8-4-4-4-12` hex digits).
pub fn uuid_like(rng: &mut fastrand::Rng) -> String {
    let hex: String = (0..32)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The state shared by every handler.
#[derive(Clone)]
pub struct Shared(pub Arc<Mutex<State>>);

impl Shared {
    /// Locks the state. A handler that panicked while holding the lock left the state as it
    /// was at that point, which is still usable for an emulator, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_admits_up_to_the_limit_then_says_when_a_slot_frees() {
        let mut window = Window::default();
        let start = Instant::now();
        assert!(window.admit(2, start).is_ok());
        assert!(window.admit(2, start + Duration::from_secs(10)).is_ok());
        assert_eq!(window.admit(2, start + Duration::from_secs(20)), Err(40));
        assert!(window.admit(2, start + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn window_wait_is_at_least_one_second() {
        let mut window = Window::default();
        let start = Instant::now();
        assert!(window.admit(1, start).is_ok());
        assert_eq!(
            window.admit(1, start + Duration::from_millis(59_900)),
            Err(1)
        );
    }

    #[test]
    fn uuid_like_has_the_uuid_shape() {
        let id = uuid_like(&mut fastrand::Rng::with_seed(3));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
