//! Webhook signatures over the exact bytes sent: `x-wh-signature` (RSA-SHA256, PKCS#1 v1.5,
//! base64; HighLevel's original scheme) and `x-ghl-signature` (Ed25519, base64; the current
//! one). The key pairs are made on first start and kept in `server_keys` (PKCS#8 PEM); their
//! public halves are published at `GET /hilo/webhooks/keys` and by `hilo admin webhooks keys`.

use anyhow::Context;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rsa::pkcs1v15::SigningKey as RsaSigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use serde::Serialize;
use sha2::Sha256;

use crate::db::Db;
use crate::time::now_ms;

pub const RSA_HEADER: &str = "x-wh-signature";
pub const ED25519_HEADER: &str = "x-ghl-signature";

const RSA_KEY_NAME: &str = "webhook-rsa-pkcs8";
const ED25519_KEY_NAME: &str = "webhook-ed25519-pkcs8";
/// HighLevel's own key is 4096 bits; 2048 signs faster and is as widely accepted.
const RSA_BITS: usize = 2048;

/// A public key as published.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// The header whose signature it verifies.
    pub header: &'static str,
    pub algorithm: &'static str,
    /// SubjectPublicKeyInfo PEM: what `crypto.createVerify` and the official SDK take.
    pub public_key_pem: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicKeys {
    pub rsa: PublicKey,
    pub ed25519: PublicKey,
}

/// The two signatures of one body, base64.
#[derive(Debug, Clone)]
pub struct Signatures {
    pub rsa: String,
    pub ed25519: String,
}

pub struct SigningKeys {
    rsa: RsaSigningKey<Sha256>,
    ed25519: ed25519_dalek::SigningKey,
    public: PublicKeys,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeys(..)")
    }
}

impl SigningKeys {
    /// The stored key pairs, made first when there are none. Several processes starting at
    /// once agree on one pair of each: the insert does nothing when another won the race.
    pub async fn load_or_create(db: &Db) -> anyhow::Result<SigningKeys> {
        let rsa_pem = match stored(db, RSA_KEY_NAME).await? {
            Some(pem) => pem,
            None => {
                // Finding primes takes a while: off the async threads.
                let pem = tokio::task::spawn_blocking(|| {
                    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)?;
                    anyhow::Ok(key.to_pkcs8_pem(LineEnding::LF)?.to_string())
                })
                .await??;
                store(db, RSA_KEY_NAME, &pem).await?
            }
        };
        let ed25519_pem = match stored(db, ED25519_KEY_NAME).await? {
            Some(pem) => pem,
            None => {
                let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
                let pem = key
                    .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                    .map_err(|e| anyhow::anyhow!("encoding the Ed25519 key: {e}"))?;
                store(db, ED25519_KEY_NAME, &pem).await?
            }
        };
        SigningKeys::from_pems(&rsa_pem, &ed25519_pem)
    }

    fn from_pems(rsa_pem: &str, ed25519_pem: &str) -> anyhow::Result<SigningKeys> {
        let rsa_key =
            rsa::RsaPrivateKey::from_pkcs8_pem(rsa_pem).context("the stored RSA webhook key")?;
        let ed25519 = ed25519_dalek::SigningKey::from_pkcs8_pem(ed25519_pem)
            .map_err(|e| anyhow::anyhow!("the stored Ed25519 webhook key: {e}"))?;
        let public = PublicKeys {
            rsa: PublicKey {
                header: RSA_HEADER,
                algorithm: "RSA-SHA256",
                public_key_pem: rsa_key.to_public_key().to_public_key_pem(LineEnding::LF)?,
            },
            ed25519: PublicKey {
                header: ED25519_HEADER,
                algorithm: "Ed25519",
                public_key_pem: ed25519
                    .verifying_key()
                    .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                    .map_err(|e| anyhow::anyhow!("encoding the Ed25519 public key: {e}"))?,
            },
        };
        Ok(SigningKeys {
            rsa: RsaSigningKey::<Sha256>::new(rsa_key),
            ed25519,
            public,
        })
    }

    pub fn public(&self) -> &PublicKeys {
        &self.public
    }

    pub fn sign(&self, body: &[u8]) -> Signatures {
        Signatures {
            rsa: BASE64.encode(self.rsa.sign(body).to_bytes()),
            ed25519: BASE64.encode(self.ed25519.sign(body).to_bytes()),
        }
    }
}

async fn stored(db: &Db, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT secret FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_optional(db.write())
        .await
}

/// Stores `pem` unless another process stored its own first; returns the one kept.
async fn store(db: &Db, name: &str, pem: &str) -> anyhow::Result<String> {
    sqlx::query(
        "INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(pem)
    .bind(now_ms())
    .execute(db.write())
    .await?;
    stored(db, name)
        .await?
        .context("the webhook key vanished after it was stored")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;

    #[test]
    fn signatures_verify_with_the_published_keys() {
        let rsa_key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let rsa_pem = rsa_key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let ed = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let ed_pem = ed
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        let keys = SigningKeys::from_pems(&rsa_pem, &ed_pem).unwrap();
        let body = br#"{"type":"NoteCreate","locationId":"x"}"#;
        let signed = keys.sign(body);

        let rsa_public =
            rsa::RsaPublicKey::from_public_key_pem(&keys.public().rsa.public_key_pem).unwrap();
        let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(rsa_public);
        let signature =
            rsa::pkcs1v15::Signature::try_from(BASE64.decode(&signed.rsa).unwrap().as_slice())
                .unwrap();
        assert!(verifier.verify(body, &signature).is_ok());
        assert!(verifier.verify(b"{}", &signature).is_err());

        let ed_public =
            ed25519_dalek::VerifyingKey::from_public_key_pem(&keys.public().ed25519.public_key_pem)
                .unwrap();
        let signature =
            ed25519_dalek::Signature::from_slice(&BASE64.decode(&signed.ed25519).unwrap()).unwrap();
        assert!(ed_public.verify(body, &signature).is_ok());
    }
}
