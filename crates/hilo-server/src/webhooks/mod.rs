//! Signed, durable, at-least-once delivery of HighLevel's webhook events (docs/webhooks.md).
//!
//! - [`events`]: the event kinds, the scope each needs, their payloads.
//! - [`outbox`]: [`enqueue`], called in the transaction of the change, writes the event and a
//!   delivery for every app that should receive it.
//! - [`dispatch`]: the background dispatcher: claims due deliveries, signs and POSTs them,
//!   records every attempt, retries ([`retry`]).
//! - [`signing`]: the key pairs and the two signature headers.
//! - [`target`]: the outbound HTTP client and its safety rules.
//! - [`inspect`] and [`http`]: deliveries for people (admin API and `hilo admin webhooks`).

pub mod dispatch;
pub mod events;
pub mod http;
pub mod inspect;
pub mod outbox;
pub mod retry;
pub mod signing;
pub mod target;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, OnceCell};

pub use events::{Event, EventKind};
pub use outbox::enqueue;

use crate::db::Db;
use retry::RetryPolicy;
use signing::SigningKeys;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub retry: RetryPolicy,
    /// For connecting and for the whole request.
    pub timeout: Duration,
    /// How much of an answer is read; the rest is dropped.
    pub max_response_bytes: usize,
    /// Refuse targets that are not public addresses.
    pub block_private: bool,
    /// Deliveries in flight at once, per process.
    pub concurrency: usize,
    /// How often the outbox is looked at when nothing woke the dispatcher (writes in this
    /// process do; other processes' writes and due retries are found by looking).
    pub poll: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry: RetryPolicy::standard(),
            timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            block_private: false,
            concurrency: 16,
            poll: Duration::from_secs(1),
        }
    }
}

/// The webhook machinery a server shares: settings, the signing keys (loaded on first use),
/// and the bell that wakes this process's dispatcher after a write.
#[derive(Debug, Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: WebhookSettings,
    keys: OnceCell<SigningKeys>,
    wake: Notify,
}

impl Webhooks {
    pub fn new(settings: WebhookSettings) -> Webhooks {
        Webhooks {
            inner: Arc::new(Inner {
                settings,
                keys: OnceCell::new(),
                wake: Notify::new(),
            }),
        }
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    /// The signing keys, loaded (or made, on a new database) the first time they are needed.
    pub async fn keys(&self, db: &Db) -> anyhow::Result<&SigningKeys> {
        self.inner
            .keys
            .get_or_try_init(|| SigningKeys::load_or_create(db))
            .await
    }

    /// Tells the dispatcher there may be new deliveries.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    async fn woken(&self) {
        self.inner.wake.notified().await;
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks::new(WebhookSettings::default())
    }
}

/// Middleware: after a request that may have written (anything but GET and HEAD), the
/// dispatcher looks at the outbox at once instead of at its next poll. The write committed
/// before the response was made.
pub async fn wake_after_write(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let reads_only = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let response = next.run(request).await;
    if !reads_only {
        state.webhooks.wake();
    }
    response
}
