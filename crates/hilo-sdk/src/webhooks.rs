//! Webhook signatures, checked over the raw body bytes as received (before any JSON parsing):
//! `x-ghl-signature` (Ed25519, base64; HighLevel's current scheme) and `x-wh-signature`
//! (RSA-SHA256 PKCS#1 v1.5, base64; the original one, deprecated by HighLevel).
//!
//! HighLevel signs with the keys in [`HIGHLEVEL_ED25519_PUBLIC_KEY_PEM`] and
//! [`HIGHLEVEL_RSA_PUBLIC_KEY_PEM`]; a hilo server signs with its own, published at
//! `GET /hilo/webhooks/keys` ([`Client::webhook_keys`](crate::Client::webhook_keys)).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use reqwest::header::HeaderMap;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier as _;
use serde_json::Value;
use sha2::Sha256;

use crate::{Client, Error};

pub const ED25519_HEADER: &str = "x-ghl-signature";
pub const RSA_HEADER: &str = "x-wh-signature";

/// HighLevel's Ed25519 webhook key.
pub const HIGHLEVEL_ED25519_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=
-----END PUBLIC KEY-----
";

/// HighLevel's RSA webhook key (docs: `WebhookAuthentication.md`).
pub const HIGHLEVEL_RSA_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Neither signature header is present (or none for which a key is known).
    #[error("no signature header with a known key")]
    MissingSignature,
    /// The header is not one of the two schemes.
    #[error("unknown signature header {0:?}")]
    UnknownHeader(String),
    /// The header names a scheme whose key was not given.
    #[error("no public key for {0}")]
    NoKey(&'static str),
    /// The header value is not a base64 signature of the right shape.
    #[error("malformed {0} signature")]
    Malformed(&'static str),
    /// The signature does not match the body.
    #[error("the {0} signature does not match the body")]
    Mismatch(&'static str),
    /// A public key could not be read.
    #[error("unreadable public key: {0}")]
    BadKey(String),
}

/// The public keys signatures are checked against; either may be missing.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    ed25519: Option<ed25519_dalek::VerifyingKey>,
    rsa: Option<rsa::pkcs1v15::VerifyingKey<Sha256>>,
}

impl PublicKeys {
    /// Keys from SubjectPublicKeyInfo PEMs.
    pub fn from_pem(ed25519: Option<&str>, rsa: Option<&str>) -> Result<PublicKeys, VerifyError> {
        let ed25519 = ed25519
            .map(ed25519_dalek::VerifyingKey::from_public_key_pem)
            .transpose()
            .map_err(|e| VerifyError::BadKey(format!("Ed25519: {e}")))?;
        let rsa = rsa
            .map(rsa::RsaPublicKey::from_public_key_pem)
            .transpose()
            .map_err(|e| VerifyError::BadKey(format!("RSA: {e}")))?
            .map(rsa::pkcs1v15::VerifyingKey::new);
        Ok(PublicKeys { ed25519, rsa })
    }

    /// HighLevel's own keys.
    pub fn highlevel() -> Result<PublicKeys, VerifyError> {
        PublicKeys::from_pem(
            Some(HIGHLEVEL_ED25519_PUBLIC_KEY_PEM),
            Some(HIGHLEVEL_RSA_PUBLIC_KEY_PEM),
        )
    }

    /// The keys of `GET /hilo/webhooks/keys`'s answer (`{"rsa": {"publicKeyPem": …}, "ed25519": …}`).
    pub fn from_hilo_json(keys: &Value) -> Result<PublicKeys, VerifyError> {
        let pem = |scheme: &str| keys[scheme]["publicKeyPem"].as_str();
        PublicKeys::from_pem(pem("ed25519"), pem("rsa"))
    }
}

impl Client {
    /// The webhook keys a hilo server signs with (`GET /hilo/webhooks/keys`).
    pub async fn webhook_keys(&self) -> Result<PublicKeys, Error> {
        let keys = self.get("/hilo/webhooks/keys").send().await?;
        PublicKeys::from_hilo_json(&keys).map_err(|e| Error::Decode(e.to_string()))
    }
}

/// Checks a delivery's signature over `body`: `x-ghl-signature` when it is present and its key
/// known, else `x-wh-signature`. A signature that is present and wrong is never overruled by
/// the other.
pub fn verify(headers: &HeaderMap, body: &[u8], keys: &PublicKeys) -> Result<(), VerifyError> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (value(ED25519_HEADER), value(RSA_HEADER)) {
        (Some(signature), _) if keys.ed25519.is_some() => {
            verify_signature(ED25519_HEADER, signature, body, keys)
        }
        (_, Some(signature)) if keys.rsa.is_some() => {
            verify_signature(RSA_HEADER, signature, body, keys)
        }
        _ => Err(VerifyError::MissingSignature),
    }
}

/// Checks one signature header (`header`: its name, any case; `value`: its base64 value).
pub fn verify_signature(
    header: &str,
    value: &str,
    body: &[u8],
    keys: &PublicKeys,
) -> Result<(), VerifyError> {
    if header.eq_ignore_ascii_case(ED25519_HEADER) {
        const SCHEME: &str = "Ed25519";
        let key = keys.ed25519.as_ref().ok_or(VerifyError::NoKey(SCHEME))?;
        let bytes = decode(value, SCHEME)?;
        let signature = ed25519_dalek::Signature::from_slice(&bytes)
            .map_err(|_| VerifyError::Malformed(SCHEME))?;
        key.verify_strict(body, &signature)
            .map_err(|_| VerifyError::Mismatch(SCHEME))
    } else if header.eq_ignore_ascii_case(RSA_HEADER) {
        const SCHEME: &str = "RSA-SHA256";
        let key = keys.rsa.as_ref().ok_or(VerifyError::NoKey(SCHEME))?;
        let bytes = decode(value, SCHEME)?;
        let signature = rsa::pkcs1v15::Signature::try_from(bytes.as_slice())
            .map_err(|_| VerifyError::Malformed(SCHEME))?;
        key.verify(body, &signature)
            .map_err(|_| VerifyError::Mismatch(SCHEME))
    } else {
        Err(VerifyError::UnknownHeader(header.to_owned()))
    }
}

fn decode(value: &str, scheme: &'static str) -> Result<Vec<u8>, VerifyError> {
    BASE64
        .decode(value.trim())
        .map_err(|_| VerifyError::Malformed(scheme))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    use rand::SeedableRng;
    use reqwest::header::HeaderValue;
    use rsa::signature::{SignatureEncoding as _, Signer as _};

    /// The Ed25519 signature of `BODY` by the key of seed `[7; 32]`.
    const KNOWN_ED25519: &str =
        "8dCe8jv70bw97CJyeZSmGoElBiiYMtx29N28gReYBVGEnTk9PsgeCvVxXE+0zVnDdW4+bbiGso+j41X5q1FSDw==";
    const BODY: &[u8] = br#"{"type":"ContactCreate","locationId":"loc1","id":"c1"}"#;

    /// Fixed key pairs, their public PEMs, and both signatures of `BODY`.
    fn signed() -> (PublicKeys, String, String) {
        let ed = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let rsa_key = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let ed_pem = ed
            .verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        let rsa_pem = rsa_key
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        let rsa_signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_key);
        let keys = PublicKeys::from_pem(Some(&ed_pem), Some(&rsa_pem)).unwrap();
        let ed_sig = BASE64.encode(ed25519_dalek::Signer::sign(&ed, BODY).to_bytes());
        let rsa_sig = BASE64.encode(rsa_signer.sign(BODY).to_bytes());
        (keys, ed_sig, rsa_sig)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_known_ed25519_signature_is_fixed() {
        // Ed25519 is deterministic: the same key and body give the same signature.
        let (keys, ed_sig, _) = signed();
        assert_eq!(ed_sig, KNOWN_ED25519);
        assert_eq!(
            verify_signature(ED25519_HEADER, KNOWN_ED25519, BODY, &keys),
            Ok(())
        );
    }

    #[test]
    fn good_signatures_pass_and_tampered_bodies_fail() {
        let (keys, ed_sig, rsa_sig) = signed();
        assert_eq!(
            verify_signature(ED25519_HEADER, &ed_sig, BODY, &keys),
            Ok(())
        );
        assert_eq!(
            verify_signature("X-WH-Signature", &rsa_sig, BODY, &keys),
            Ok(())
        );
        let tampered = br#"{"type":"ContactCreate","locationId":"loc2","id":"c1"}"#;
        assert_eq!(
            verify_signature(ED25519_HEADER, &ed_sig, tampered, &keys),
            Err(VerifyError::Mismatch("Ed25519"))
        );
        assert_eq!(
            verify_signature(RSA_HEADER, &rsa_sig, tampered, &keys),
            Err(VerifyError::Mismatch("RSA-SHA256"))
        );
        // Swapped signatures, garbage and unknown headers.
        assert_eq!(
            verify_signature(ED25519_HEADER, &rsa_sig, BODY, &keys),
            Err(VerifyError::Malformed("Ed25519"))
        );
        assert_eq!(
            verify_signature(RSA_HEADER, "not base64!", BODY, &keys),
            Err(VerifyError::Malformed("RSA-SHA256"))
        );
        assert!(matches!(
            verify_signature("x-other", &ed_sig, BODY, &keys),
            Err(VerifyError::UnknownHeader(_))
        ));
    }

    #[test]
    fn verify_prefers_ed25519_and_never_falls_back_from_a_bad_one() {
        let (keys, ed_sig, rsa_sig) = signed();
        assert_eq!(
            verify(&headers(&[(ED25519_HEADER, &ed_sig)]), BODY, &keys),
            Ok(())
        );
        assert_eq!(
            verify(&headers(&[(RSA_HEADER, &rsa_sig)]), BODY, &keys),
            Ok(())
        );
        let bad_ed = headers(&[
            (ED25519_HEADER, &BASE64.encode([0u8; 64])),
            (RSA_HEADER, &rsa_sig),
        ]);
        assert_eq!(
            verify(&bad_ed, BODY, &keys),
            Err(VerifyError::Mismatch("Ed25519"))
        );
        assert_eq!(
            verify(&HeaderMap::new(), BODY, &keys),
            Err(VerifyError::MissingSignature)
        );
        // Without the Ed25519 key, the RSA header decides.
        let (_, _, rsa_only) = signed();
        let rsa_keys = PublicKeys {
            ed25519: None,
            ..keys.clone()
        };
        assert_eq!(verify(&bad_ed, BODY, &rsa_keys), Ok(()));
        assert_eq!(rsa_only, rsa_sig);
    }

    #[test]
    fn highlevels_keys_parse_and_reject_foreign_signatures() {
        let keys = PublicKeys::highlevel().unwrap();
        let (_, ed_sig, rsa_sig) = signed();
        assert_eq!(
            verify_signature(ED25519_HEADER, &ed_sig, BODY, &keys),
            Err(VerifyError::Mismatch("Ed25519"))
        );
        // HighLevel's RSA key is 4096 bits: a 1024-bit signature is the wrong length.
        assert!(verify_signature(RSA_HEADER, &rsa_sig, BODY, &keys).is_err());
        assert!(PublicKeys::from_pem(Some("nope"), None).is_err());
    }
}
