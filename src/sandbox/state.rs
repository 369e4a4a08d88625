//! The sandbox org's state: actions (with drafts and function settings), integrations, issued
//! tokens, rate-limit windows and request statistics.
//!
//! Everything sits behind one `Mutex` in [`Shared`]; handlers lock it, do their short piece of
//! work and unlock before any `.await`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::SandboxOptions;
use crate::genesys::models::{Action, ActionConfig, FunctionConfig};

/// Template file names served by `.../templates/{fileName}` and where their text sits in a config.
pub const REQUEST_TEMPLATE_FILE: &str = "requesttemplate.vm";
pub const SUCCESS_TEMPLATE_FILE: &str = "successtemplate.vm";

/// `(file name, config section, text key, uri key)` of both templates.
pub const TEMPLATE_FIELDS: [(&str, Section, &str, &str); 2] = [
    (
        REQUEST_TEMPLATE_FILE,
        Section::Request,
        "requestTemplate",
        "requestTemplateUri",
    ),
    (
        SUCCESS_TEMPLATE_FILE,
        Section::Response,
        "successTemplate",
        "successTemplateUri",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Request,
    Response,
}

pub fn section(config: &ActionConfig, section: Section) -> Option<&Map<String, Value>> {
    match section {
        Section::Request => config.request.as_ref(),
        Section::Response => config.response.as_ref(),
    }
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
    pub config: ActionConfig,
    pub contract: Value,
    /// Template text the config names only by URI (`requestTemplateUri`/`successTemplateUri`),
    /// keyed by file name. Served by the templates route.
    pub uri_templates: BTreeMap<String, String>,
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
    pub config: ActionConfig,
    pub contract: Value,
    pub function: Option<FunctionConfig>,
}

impl StoredAction {
    pub fn is_static(&self) -> bool {
        self.id.starts_with("static")
    }

    pub fn self_uri(&self) -> String {
        format!("/api/v2/integrations/actions/{}", self.id)
    }

    /// The API shape: `config` only with `include_config`, `contract` only with `include_contract`.
    pub fn to_api(&self, include_config: bool, include_contract: bool) -> Action {
        let mut extra = Map::new();
        if include_contract {
            extra.insert("contract".into(), self.contract.clone());
        }
        extra.insert("selfUri".into(), Value::String(self.self_uri()));
        Action {
            id: self.id.clone(),
            name: Some(self.name.clone()),
            integration_id: Some(self.integration_id.clone()),
            category: Some(self.category.clone()),
            version: Some(self.version),
            secure: Some(self.secure),
            config: include_config.then(|| self.config.clone()),
            extra,
        }
    }

    /// Everything stored, with template text a config names only by URI merged in: what
    /// `GET /sandbox/actions` shows, so that lost template text is visible there.
    pub fn to_full(&self) -> Action {
        let mut config = self.config.clone();
        for (file, sec, text_key, _) in TEMPLATE_FIELDS {
            if let Some(text) = self.uri_templates.get(file) {
                section_mut(&mut config, sec)
                    .entry(text_key)
                    .or_insert_with(|| Value::String(text.clone()));
            }
        }
        let mut action = self.to_api(false, true);
        action.config = Some(config);
        action
    }

    /// Text of `requesttemplate.vm` / `successtemplate.vm`, inline or kept behind its URI.
    pub fn template(&self, file: &str) -> Option<String> {
        let (_, sec, text_key, _) = TEMPLATE_FIELDS.iter().find(|(f, ..)| *f == file)?;
        section(&self.config, *sec)
            .and_then(|s| s.get(*text_key))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| self.uri_templates.get(file).cloned())
    }

    /// Replaces the config with the one a client sent. The sandbox takes the pessimistic reading
    /// of the platform: template text that is not sent is lost, even when the old config named it
    /// only by URI (the shared notes mark the real behaviour UNCONFIRMED).
    pub fn replace_config(&mut self, config: ActionConfig) {
        self.config = config;
        self.uri_templates.clear();
    }

    /// The draft in the API shape, with the draft's own version.
    pub fn draft_to_api(
        &self,
        draft: &Draft,
        include_config: bool,
        include_contract: bool,
    ) -> Action {
        let mut action = self.to_api(false, false);
        action.name = Some(draft.name.clone());
        action.category = Some(draft.category.clone());
        action.version = Some(draft.version);
        action.secure = Some(draft.secure);
        action.config = include_config.then(|| draft.config.clone());
        action.extra.clear();
        if include_contract {
            action
                .extra
                .insert("contract".into(), draft.contract.clone());
        }
        let uri = format!("{}/draft", self.self_uri());
        action.extra.insert("selfUri".into(), Value::String(uri));
        action
    }
}

#[derive(Debug, Clone)]
pub struct Token {
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
    pub rng: fastrand::Rng,
}

impl State {
    pub fn integration(&self, id: &str) -> Option<&Integration> {
        self.integrations.iter().find(|i| i.id == id)
    }

    pub fn is_function_action(&self, action: &StoredAction) -> bool {
        self.integration(&action.integration_id)
            .is_some_and(|i| i.type_id == crate::genesys::models::FUNCTION_INTEGRATION_TYPE)
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
