//! OAuth 2.0 as HighLevel runs it: marketplace apps, installations, authorization codes, access
//! tokens (JWTs verified without a database read) and rotating refresh tokens.

pub mod apps;
pub mod grants;
pub mod jwt;
pub mod revocations;

use std::time::Duration;

use crate::db::Db;

/// What the OAuth machinery shares across requests.
#[derive(Debug, Clone)]
pub struct OAuth {
    pub settings: OAuthSettings,
    pub signer: jwt::TokenSigner,
    pub revocations: revocations::Revocations,
}

impl OAuth {
    /// Loads (or creates) the signing key and the current revocations.
    pub async fn load(db: &Db, settings: OAuthSettings) -> anyhow::Result<OAuth> {
        let signer = jwt::TokenSigner::load_or_create(db).await?;
        let revocations = revocations::Revocations::new(settings.access_token_ttl);
        revocations.refresh(db).await?;
        Ok(OAuth {
            settings,
            signer,
            revocations,
        })
    }

    /// Reads, until the process ends, what other processes (another `hilo serve`, the admin
    /// CLI) changed: revoked grants, and a signing key a full reset rotated.
    pub fn spawn_poller(&self, db: Db) {
        let oauth = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            loop {
                tick.tick().await;
                if let Err(error) = oauth.revocations.refresh(&db).await {
                    tracing::warn!(%error, "reading token revocations failed");
                }
                if let Err(error) = oauth.signer.reload(&db).await {
                    tracing::warn!(%error, "reading the token signing key failed");
                }
            }
        });
    }
}

/// How often other processes' revocations and key rotations are read.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Lifetimes of what the flow issues; HighLevel's by default.
#[derive(Debug, Clone, Copy)]
pub struct OAuthSettings {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub code_ttl: Duration,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        OAuthSettings {
            // HighLevel answers `expires_in: 86399`.
            access_token_ttl: Duration::from_secs(86_399),
            refresh_token_ttl: Duration::from_secs(365 * 24 * 3600),
            code_ttl: Duration::from_secs(10 * 60),
        }
    }
}

/// `userType` of a token request and of what it grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Location,
    Company,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Location => "Location",
            UserType::Company => "Company",
        }
    }

    pub fn parse(s: &str) -> Option<UserType> {
        match s {
            "Location" => Some(UserType::Location),
            "Company" => Some(UserType::Company),
            _ => None,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
