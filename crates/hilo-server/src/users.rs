//! Agency users: they approve installs on the consent page and are the installing `userId`.
//! Passwords are hashed with Argon2id.

use anyhow::{bail, Context};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use serde::Serialize;

use crate::db::Db;
use crate::ids::new_id;
use crate::time::now_ms;
use crate::validate::is_email;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub company_id: String,
    pub email: String,
    pub name: String,
}

/// A new agency user; without a password the user cannot sign in but can still be named as the
/// installer of a headless install.
pub async fn create_agency_user(
    db: &Db,
    company_id: &str,
    email: &str,
    name: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<User> {
    let email = email.trim().to_lowercase();
    if !is_email(&email) {
        bail!("{email:?} is not an email address");
    }
    crate::tenancy::require_company(db, company_id).await?;
    let password_hash = match password {
        Some(p) if p.chars().count() < 8 => bail!("a password needs at least 8 characters"),
        Some(p) => Some(hash_password(p)?),
        None => None,
    };
    let user = User {
        id: new_id(),
        company_id: company_id.to_owned(),
        name: name.map_or_else(|| email.clone(), |n| n.trim().to_owned()),
        email,
    };
    sqlx::query(
        "INSERT INTO users (id, company_id, email, name, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&user.id)
    .bind(&user.company_id)
    .bind(&user.email)
    .bind(&user.name)
    .bind(password_hash)
    .bind(now_ms())
    .execute(db.write())
    .await
    .with_context(|| format!("creating user {} (is the email taken?)", user.email))?;
    Ok(user)
}

/// The user with this id.
pub async fn find_user(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as("SELECT id, company_id, email, name FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db.read())
        .await
}

fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// The user with this email and password; `None` for any mismatch.
pub async fn sign_in(db: &Db, email: &str, password: &str) -> anyhow::Result<Option<User>> {
    let row: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, company_id, email, name, password_hash FROM users WHERE email = $1",
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(db.read())
    .await?;
    let Some((id, company_id, email, name, Some(hash))) = row else {
        return Ok(None);
    };
    let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    Ok(ok.then_some(User {
        id,
        company_id,
        email,
        name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_verify_only_the_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong horse", &parsed)
            .is_err());
    }
}
