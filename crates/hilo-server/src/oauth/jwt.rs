//! Access tokens: JWTs carrying the claims HighLevel's tokens carry (clients decode them to learn
//! the location, company and scopes), signed with a key hilo creates on first start and keeps.

use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::UserType;
use crate::db::Db;
use crate::time::now_ms;

const KEY_NAME: &str = "access-token-hs256";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthMeta {
    pub scopes: Vec<String>,
    /// The app id.
    pub client: String,
    pub version_id: String,
    /// The app's client id.
    pub client_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessClaims {
    /// `Location` or `Company`.
    pub auth_class: String,
    /// The location id of a Location token, the company id of a Company token.
    pub auth_class_id: String,
    pub primary_auth_class_id: String,
    pub source: String,
    /// The app's client id.
    pub source_id: String,
    pub channel: String,
    pub oauth_meta: OAuthMeta,
    /// hilo's own claims: the company, and the grant whose revocation revokes this token.
    pub company_id: String,
    pub grant_id: String,
    pub iat: i64,
    pub exp: i64,
}

impl AccessClaims {
    pub fn user_type(&self) -> Option<UserType> {
        UserType::parse(&self.auth_class)
    }
}

/// The signing key, shared by every clone. A full reset rotates the stored key; each process
/// swaps to it when it reloads (at once in the process that reset, within a poll elsewhere), so
/// tokens signed before the reset stop verifying although their grants are gone.
#[derive(Clone)]
pub struct TokenSigner {
    key: Arc<RwLock<SigningKey>>,
    validation: Arc<Validation>,
}

struct SigningKey {
    /// The stored secret, hex: what a reload compares.
    hex: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKey {
    fn from_hex(hex_secret: String) -> anyhow::Result<SigningKey> {
        let secret = hex::decode(&hex_secret)?;
        Ok(SigningKey {
            hex: hex_secret,
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        })
    }
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(..)")
    }
}

fn fresh_secret() -> String {
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    hex::encode(fresh)
}

async fn stored_secret(pool: &sqlx::AnyPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT secret FROM server_keys WHERE name = $1")
        .bind(KEY_NAME)
        .fetch_one(pool)
        .await
}

/// Replaces the stored signing key in `tx` (a full reset): every access token signed with the
/// old one stops verifying once a process reloads.
pub(crate) async fn rotate_key(tx: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at",
    )
    .bind(KEY_NAME)
    .bind(fresh_secret())
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map(drop)
}

impl TokenSigner {
    /// The key stored in the database, created on first use. Several processes starting at
    /// once agree on one key: the insert does nothing when another won the race.
    pub async fn load_or_create(db: &Db) -> anyhow::Result<TokenSigner> {
        sqlx::query(
            "INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(KEY_NAME)
        .bind(fresh_secret())
        .bind(now_ms())
        .execute(db.write())
        .await?;
        // Read where it was written: on SQLite, the writer sees its insert at once.
        TokenSigner::from_hex(stored_secret(db.write()).await?)
    }

    fn from_hex(hex_secret: String) -> anyhow::Result<TokenSigner> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against hilo's clock by the caller, not the system clock here.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Ok(TokenSigner {
            key: Arc::new(RwLock::new(SigningKey::from_hex(hex_secret)?)),
            validation: Arc::new(validation),
        })
    }

    /// Takes the stored key if it changed (another process or the admin CLI rotated it).
    pub async fn reload(&self, db: &Db) -> anyhow::Result<()> {
        let stored = stored_secret(db.read()).await?;
        let current = self
            .key
            .read()
            .map(|key| key.hex.clone())
            .unwrap_or_default();
        if stored != current {
            let key = SigningKey::from_hex(stored)?;
            if let Ok(mut slot) = self.key.write() {
                *slot = key;
            }
        }
        Ok(())
    }

    pub fn sign(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        let key = self
            .key
            .read()
            .map_err(|_| anyhow::anyhow!("signing key poisoned"))?;
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &key.encoding,
        )?)
    }

    /// The claims of a token this server signed and that has not expired at `now_ms`.
    pub fn verify(&self, token: &str, now_ms: i64) -> Option<AccessClaims> {
        let key = self.key.read().ok()?;
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &self.validation).ok()?;
        (data.claims.exp * 1000 > now_ms).then_some(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            auth_class: "Location".to_owned(),
            auth_class_id: "loc".to_owned(),
            primary_auth_class_id: "loc".to_owned(),
            source: "INTEGRATION".to_owned(),
            source_id: "app-client".to_owned(),
            channel: "OAUTH".to_owned(),
            oauth_meta: OAuthMeta {
                scopes: vec!["contacts.readonly".to_owned()],
                client: "app".to_owned(),
                version_id: "app".to_owned(),
                client_key: "app-client".to_owned(),
            },
            company_id: "co".to_owned(),
            grant_id: "grant".to_owned(),
            iat: exp - 100,
            exp,
        }
    }

    #[test]
    fn signed_tokens_verify_until_they_expire() {
        let signer =
            TokenSigner::from_hex(hex::encode(b"0123456789abcdef0123456789abcdef")).unwrap();
        let token = signer.sign(&claims(2_000)).unwrap();
        assert_eq!(signer.verify(&token, 1_999_999), Some(claims(2_000)));
        assert_eq!(signer.verify(&token, 2_000_000), None);
        let other =
            TokenSigner::from_hex(hex::encode(b"another key, another server.....")).unwrap();
        assert_eq!(other.verify(&token, 0), None);
        assert_eq!(signer.verify("pit-1234", 0), None);
        let mut tampered = token.clone();
        tampered.insert(token.len() / 2, 'x');
        assert_eq!(signer.verify(&tampered, 0), None);
    }
}
