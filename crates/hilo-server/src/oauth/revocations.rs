//! Revoked grants, known in memory so that checking an access token costs no database round
//! trip. Revocations made by this process land at once; those made elsewhere (another `hilo
//! serve`, the admin CLI) are picked up by a poll of `oauth_grants.revoked_at`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::db::Db;
use crate::time::now_ms;

/// Revocations are read again this far back, so that a row committed a little late (or by a
/// process whose clock is a little behind) is not missed.
const OVERLAP_MS: i64 = 5_000;

#[derive(Debug, Default)]
struct Inner {
    /// Grant id → when it was revoked.
    revoked: HashMap<String, i64>,
    /// Revocations at or after this instant have not all been read yet.
    read_up_to: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Revocations {
    inner: Arc<RwLock<Inner>>,
    /// Access tokens live no longer than this; older revocations can be forgotten.
    horizon_ms: i64,
}

impl Revocations {
    pub fn new(access_token_ttl: Duration) -> Revocations {
        Revocations {
            inner: Arc::default(),
            horizon_ms: i64::try_from(access_token_ttl.as_millis()).unwrap_or(i64::MAX),
        }
    }

    pub fn is_revoked(&self, grant_id: &str) -> bool {
        self.inner
            .read()
            .map(|inner| inner.revoked.contains_key(grant_id))
            // A poisoned lock means a panic elsewhere; refusing is the safe answer.
            .unwrap_or(true)
    }

    /// Records revocations this process just committed.
    pub fn insert(&self, grant_ids: impl IntoIterator<Item = String>, at: i64) {
        if let Ok(mut inner) = self.inner.write() {
            for id in grant_ids {
                inner.revoked.insert(id, at);
            }
        }
    }

    /// Reads revocations committed since the last read, and forgets those older than any live
    /// access token.
    pub async fn refresh(&self, db: &Db) -> anyhow::Result<()> {
        let now = now_ms();
        let since = {
            let inner = self
                .inner
                .read()
                .map_err(|_| anyhow::anyhow!("revocation set poisoned"))?;
            if inner.read_up_to == 0 {
                now.saturating_sub(self.horizon_ms)
            } else {
                inner.read_up_to - OVERLAP_MS
            }
        };
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT id, revoked_at FROM oauth_grants WHERE revoked_at >= $1")
                .bind(since)
                .fetch_all(db.read())
                .await?;
        let mut inner = self
            .inner
            .write()
            .map_err(|_| anyhow::anyhow!("revocation set poisoned"))?;
        inner.revoked.extend(rows);
        let oldest = now.saturating_sub(self.horizon_ms);
        inner.revoked.retain(|_, at| *at >= oldest);
        inner.read_up_to = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_grants_are_revoked() {
        let revocations = Revocations::new(Duration::from_secs(60));
        assert!(!revocations.is_revoked("g1"));
        revocations.insert(["g1".to_owned()], now_ms());
        assert!(revocations.is_revoked("g1"));
        assert!(!revocations.is_revoked("g2"));
    }
}
