//! What every handler shares. Built once by `app()`; nothing process-global.

use crate::db::Db;
use crate::oauth::{OAuth, OAuthSettings};

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub oauth: OAuth,
}

impl AppState {
    pub async fn new(db: Db, oauth: OAuthSettings) -> anyhow::Result<AppState> {
        let oauth = OAuth::load(&db, oauth).await?;
        oauth.revocations.spawn_poller(db.clone());
        Ok(AppState { db, oauth })
    }
}
