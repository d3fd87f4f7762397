//! Who is calling: the `Version` header check, bearer-token authentication, the per-operation
//! scope check and the location guard, in HighLevel's order and with its messages.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::endpoints::{Endpoint, Scope};
use crate::error::{
    ApiError, ApiResult, INVALID_JWT, NO_AUTHORIZATION, SCOPE_MISSING, VERSION_MISSING,
};
use crate::state::AppState;

/// `2021-07-28` is the v2 contract; `2021-04-15` is HighLevel's other accepted value, and the
/// official Node SDK sends `2023-02-21` by default.
pub const SUPPORTED_VERSIONS: [&str; 3] = ["2021-07-28", "2021-04-15", "2023-02-21"];

/// Middleware on every HighLevel route: the `Version` header comes before anything else.
pub async fn require_version(request: Request, next: Next) -> Response {
    match request.headers().get("version").map(|v| v.to_str()) {
        None => ApiError::Unauthorized(VERSION_MISSING).into_response(),
        Some(Ok(v)) if SUPPORTED_VERSIONS.contains(&v.trim()) => next.run(request).await,
        Some(_) => ApiError::bad_request(format!(
            "Unsupported Version header; use one of {}",
            SUPPORTED_VERSIONS.join(", ")
        ))
        .into_response(),
    }
}

/// Tokens are stored as SHA-256 digests: they are long random strings, so a fast hash is
/// enough, and the plaintext never touches the database.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An authenticated caller holding a Sub-Account (location) token with the operation's scope.
#[derive(Debug, Clone)]
pub struct Auth {
    pub token_id: String,
    pub company_id: String,
    pub location_id: String,
}

impl Auth {
    /// 403 unless `location_id` is the token's location.
    pub fn check_location(&self, location_id: &str) -> ApiResult<()> {
        if self.location_id == location_id {
            Ok(())
        } else {
            Err(ApiError::WrongLocation)
        }
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    company_id: String,
    location_id: Option<String>,
    scopes: String,
}

/// The bearer token of an `Authorization` header; the scheme is case-insensitive (RFC 7235).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let endpoint = parts
            .extensions
            .get::<&'static Endpoint>()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("route registered without its endpoint row"))?;
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(NO_AUTHORIZATION))?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer)
            .ok_or(ApiError::Unauthorized(INVALID_JWT))?;
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT id, company_id, location_id, scopes FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash_token(token))
        .fetch_optional(state.db.read())
        .await?;
        let row = row.ok_or(ApiError::Unauthorized(INVALID_JWT))?;
        let has_scope = row
            .scopes
            .split_whitespace()
            .any(|s| Scope::parse(s) == Some(endpoint.scope));
        // Every operation served so far takes a Sub-Account token: an agency token lacks the
        // scope for it, as HighLevel answers.
        let location_id = match (has_scope, row.location_id) {
            (true, Some(location_id)) => location_id,
            _ => return Err(ApiError::Unauthorized(SCOPE_MISSING)),
        };
        let auth = Auth {
            token_id: row.id,
            company_id: row.company_id,
            location_id,
        };
        // The body and query extractors compare a `locationId` they carry with the token's.
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer pit-1"), Some("pit-1"));
        assert_eq!(bearer("bearer   pit-1 "), Some("pit-1"));
        assert_eq!(bearer("BEARER pit-1"), Some("pit-1"));
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("pit-1"), None);
        assert_eq!(bearer(""), None);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
