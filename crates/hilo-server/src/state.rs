//! What every handler shares. Built once by `app()`; nothing process-global.

use crate::db::Db;
use crate::oauth::{OAuth, OAuthSettings};
use crate::ratelimit::RateLimiter;

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub oauth: OAuth,
    pub limiter: RateLimiter,
}

impl AppState {
    /// A state with HighLevel's default rate limits, counted in this process.
    pub async fn new(db: Db, oauth: OAuthSettings) -> anyhow::Result<AppState> {
        let oauth = OAuth::load(&db, oauth).await?;
        oauth.revocations.spawn_poller(db.clone());
        Ok(AppState {
            db,
            oauth,
            limiter: RateLimiter::default(),
        })
    }

    /// The same state counting requests with `limiter` instead.
    pub fn with_rate_limiter(self, limiter: RateLimiter) -> AppState {
        AppState { limiter, ..self }
    }
}
