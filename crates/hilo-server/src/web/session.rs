//! Sign-in sessions of agency users on hilo's pages. The browser holds a random token in an
//! HttpOnly, SameSite=Lax cookie; the database keeps its SHA-256, the user, an expiry and the
//! CSRF token that every form of the session must echo. Sessions live in the database, so any
//! `hilo serve` process on it knows them.

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use sha2::{Digest, Sha256};

use crate::auth::{hash_token, random_secret};
use crate::db::Db;
use crate::time::now_ms;
use crate::users::{self, User};

pub const SESSION_COOKIE: &str = "hilo_session";
/// The sign-in form's CSRF token travels in this cookie and in the form (double submit): there is
/// no session to keep it in yet.
pub const SIGN_IN_COOKIE: &str = "hilo_sign_in";

/// How long a sign-in lasts.
const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// A signed-in user and the CSRF token their forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

/// Signs `user` in: a new session, and the cookie that carries it.
pub async fn start(
    db: &Db,
    user: User,
    headers: &HeaderMap,
) -> anyhow::Result<(Session, Cookie<'static>)> {
    let token = random_secret(32);
    let csrf_token = random_secret(24);
    let now = now_ms();
    let mut tx = db.write().begin().await?;
    // Expired sessions go whenever a new one starts; nothing else needs them gone sooner.
    sqlx::query("DELETE FROM user_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO user_sessions (token_hash, user_id, company_id, csrf_token, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash_token(&token))
    .bind(&user.id)
    .bind(&user.company_id)
    .bind(&csrf_token)
    .bind(now)
    .bind(now + SESSION_TTL_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let cookie = cookie(SESSION_COOKIE, token, headers);
    Ok((Session { user, csrf_token }, cookie))
}

/// The live session the request's cookie names, if any.
pub async fn current(db: &Db, jar: &CookieJar) -> anyhow::Result<Option<Session>> {
    let Some(token) = jar.get(SESSION_COOKIE).map(Cookie::value) else {
        return Ok(None);
    };
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT user_id, csrf_token FROM user_sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now_ms())
    .fetch_optional(db.read())
    .await?;
    let Some((user_id, csrf_token)) = row else {
        return Ok(None);
    };
    Ok(users::find_user(db, &user_id)
        .await?
        .map(|user| Session { user, csrf_token }))
}

/// Ends the request's session, and returns the jar that clears its cookie in the browser.
pub async fn end(db: &Db, jar: CookieJar) -> anyhow::Result<CookieJar> {
    if let Some(token) = jar.get(SESSION_COOKIE).map(Cookie::value) {
        sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
            .bind(hash_token(token))
            .execute(db.write())
            .await?;
    }
    Ok(jar.remove(Cookie::build(SESSION_COOKIE).path("/")))
}

/// A fresh CSRF token for the sign-in form, and the cookie that carries its twin.
pub fn sign_in_token(headers: &HeaderMap) -> (String, Cookie<'static>) {
    let token = random_secret(24);
    (token.clone(), cookie(SIGN_IN_COOKIE, token, headers))
}

/// Whether the token a form echoed is the expected one; an absent side never matches. The
/// digests are compared, so the time taken says nothing about the expected token.
pub fn tokens_match(expected: Option<&str>, presented: Option<&str>) -> bool {
    match (expected, presented) {
        (Some(e), Some(p)) if !e.is_empty() => Sha256::digest(e) == Sha256::digest(p),
        _ => false,
    }
}

/// HttpOnly and SameSite=Lax always (Lax, not Strict: the page is reached by links from the
/// app's own site); Secure when the request reached hilo over HTTPS through a proxy.
fn cookie(name: &'static str, value: String, headers: &HeaderMap) -> Cookie<'static> {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(https)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_match_only_themselves() {
        assert!(tokens_match(Some("abc"), Some("abc")));
        assert!(!tokens_match(Some("abc"), Some("abd")));
        assert!(!tokens_match(Some("abc"), None));
        assert!(!tokens_match(None, Some("abc")));
        assert!(!tokens_match(Some(""), Some("")));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_behind_https() {
        let mut headers = HeaderMap::new();
        let plain = cookie(SESSION_COOKIE, "t".into(), &headers);
        assert_eq!(plain.http_only(), Some(true));
        assert_eq!(plain.same_site(), Some(SameSite::Lax));
        assert_ne!(plain.secure(), Some(true));
        headers.insert("x-forwarded-proto", "HTTPS".parse().unwrap());
        assert_eq!(
            cookie(SESSION_COOKIE, "t".into(), &headers).secure(),
            Some(true)
        );
    }
}
