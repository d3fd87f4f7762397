//! What every handler shares. Built once by `app()`; nothing process-global.

use std::sync::Arc;

use crate::contact_index::ContactIndexes;
use crate::db::Db;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::oauth::{OAuth, OAuthSettings};
use crate::ratelimit::RateLimiter;
use crate::time::Clock;
use crate::webhooks::{WebhookSettings, Webhooks};

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub oauth: OAuth,
    pub limiter: RateLimiter,
    /// The SHA-256 of the admin key given at start; `None`: the key stored in the database.
    pub admin_key_hash: Option<String>,
    /// The fault rules of this process.
    pub faults: Faults,
    /// The last requests this process answered.
    pub journal: Journal,
    /// The server clock (real time unless a sandbox moved it).
    pub clock: Clock,
    /// Webhook delivery settings and signing keys.
    pub webhooks: Webhooks,
    /// The contacts of the locations searched so far, in memory; `None`: every search is SQL.
    pub contact_indexes: Option<Arc<ContactIndexes>>,
}

impl AppState {
    /// A state with HighLevel's default rate limits, counted in this process.
    pub async fn new(db: Db, oauth: OAuthSettings) -> anyhow::Result<AppState> {
        let oauth = OAuth::load(&db, oauth).await?;
        oauth.spawn_poller(db.clone());
        Ok(AppState {
            db,
            oauth,
            limiter: RateLimiter::default(),
            admin_key_hash: None,
            faults: Faults::default(),
            journal: Journal::default(),
            clock: Clock::default(),
            webhooks: Webhooks::default(),
            contact_indexes: Some(Arc::default()),
        })
    }

    /// A state whose searches all run as SQL (`hilo serve --search-index off`).
    pub fn without_contact_index(self) -> AppState {
        AppState {
            contact_indexes: None,
            ..self
        }
    }

    /// The same state counting requests with `limiter` instead.
    pub fn with_rate_limiter(self, limiter: RateLimiter) -> AppState {
        AppState { limiter, ..self }
    }

    /// The same state journaling the last `capacity` requests (0: none).
    pub fn with_journal_size(self, capacity: usize) -> AppState {
        AppState {
            journal: Journal::new(capacity, crate::DEFAULT_BODY_LIMIT),
            ..self
        }
    }

    /// The same state delivering webhooks as `settings` say.
    pub fn with_webhook_settings(self, settings: WebhookSettings) -> AppState {
        AppState {
            webhooks: Webhooks::new(settings),
            ..self
        }
    }

    /// The same state accepting only `key` on the control plane.
    pub fn with_admin_key(self, key: &str) -> AppState {
        AppState {
            admin_key_hash: Some(crate::auth::hash_token(key)),
            ..self
        }
    }
}
