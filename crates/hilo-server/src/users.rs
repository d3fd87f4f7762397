//! Users. Agency users (no location) approve installs on the consent page and are the
//! installing `userId`; location users belong to one location (HighLevel's "account" users).
//! Both can follow the contacts of the locations they belong to. Passwords are hashed with
//! Argon2id; only agency users have one.

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
    /// The location of a location user; `None` for an agency user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

const USER_COLUMNS: &str = "id, company_id, email, name, location_id";

/// A new agency user; without a password the user cannot sign in but can still be named as the
/// installer of a headless install.
pub async fn create_agency_user(
    db: &Db,
    company_id: &str,
    email: &str,
    name: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<User> {
    crate::tenancy::require_company(db, company_id).await?;
    let password_hash = match password {
        Some(p) if p.chars().count() < 8 => bail!("a password needs at least 8 characters"),
        Some(p) => Some(hash_password(p)?),
        None => None,
    };
    insert_user(db, company_id, None, email, name, password_hash).await
}

/// A new user of one location (in the location's agency). Location users do not sign in to
/// hilo's pages, so they have no password.
pub async fn create_location_user(
    db: &Db,
    location_id: &str,
    email: &str,
    name: Option<&str>,
) -> anyhow::Result<User> {
    let location = crate::tenancy::find_location(db, location_id)
        .await?
        .with_context(|| format!("no location with id {location_id}"))?;
    insert_user(
        db,
        &location.company_id,
        Some(&location.id),
        email,
        name,
        None,
    )
    .await
}

async fn insert_user(
    db: &Db,
    company_id: &str,
    location_id: Option<&str>,
    email: &str,
    name: Option<&str>,
    password_hash: Option<String>,
) -> anyhow::Result<User> {
    let email = email.trim().to_lowercase();
    if !is_email(&email) {
        bail!("{email:?} is not an email address");
    }
    let user = User {
        id: new_id(),
        company_id: company_id.to_owned(),
        name: name.map_or_else(|| email.clone(), |n| n.trim().to_owned()),
        email,
        location_id: location_id.map(str::to_owned),
    };
    sqlx::query(
        "INSERT INTO users (id, company_id, email, name, password_hash, created_at, location_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&user.id)
    .bind(&user.company_id)
    .bind(&user.email)
    .bind(&user.name)
    .bind(password_hash)
    .bind(now_ms())
    .bind(&user.location_id)
    .execute(db.write())
    .await
    .with_context(|| format!("creating user {} (is the email taken?)", user.email))?;
    Ok(user)
}

/// The users of an agency (agency and location users) or, with `location_id`, of one location:
/// its own users and its agency's agency users, oldest first.
pub async fn list_users(
    db: &Db,
    company_id: Option<&str>,
    location_id: Option<&str>,
) -> anyhow::Result<Vec<User>> {
    let users = match (location_id, company_id) {
        (Some(location_id), _) => {
            let location = crate::tenancy::find_location(db, location_id)
                .await?
                .with_context(|| format!("no location with id {location_id}"))?;
            sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE company_id = $1 \
                 AND (location_id = $2 OR location_id IS NULL) ORDER BY created_at, id"
            ))
            .bind(&location.company_id)
            .bind(&location.id)
            .fetch_all(db.read())
            .await?
        }
        (None, Some(company_id)) => {
            sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE company_id = $1 ORDER BY created_at, id"
            ))
            .bind(company_id)
            .fetch_all(db.read())
            .await?
        }
        (None, None) => {
            sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"
            ))
            .fetch_all(db.read())
            .await?
        }
    };
    Ok(users)
}

/// The user with this id.
pub async fn find_user(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await
}

pub(crate) fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// The agency user with this email and password; `None` for any mismatch. Location users
/// have no password and never sign in.
pub async fn sign_in(db: &Db, email: &str, password: &str) -> anyhow::Result<Option<User>> {
    let row: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, company_id, email, name, password_hash FROM users \
         WHERE email = $1 AND location_id IS NULL",
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
        location_id: None,
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
