//! Who is calling: the `Version` header check, bearer-token authentication, the per-operation
//! scope check and the location guard, in HighLevel's order and with its messages.

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::endpoints::{Endpoint, TokenKind};
use crate::error::{
    ApiError, ApiResult, INVALID_JWT, NO_AUTHORIZATION, SCOPE_MISSING, VERSION_MISSING,
};
use crate::oauth::jwt::AccessClaims;
use crate::oauth::UserType;
use crate::ratelimit::{RateLimiter, Verdict};
use crate::state::AppState;
use crate::time::now_ms;

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

/// Where authentication leaves the request's rate-limit verdict, so that [`rate_limit_headers`]
/// can put HighLevel's headers on the response whatever the handler answers.
#[derive(Debug, Clone, Default)]
struct VerdictSlot(Arc<OnceLock<Verdict>>);

/// Where authentication leaves the caller it found, for the request journal to record.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<Principal>>);

impl CallerSlot {
    pub fn get(&self) -> Option<&Principal> {
        self.0.get()
    }
}

/// Middleware on every HighLevel route: each authenticated response carries the
/// `X-RateLimit-*` headers of the request's count, errors after authentication included.
pub async fn rate_limit_headers(mut request: Request, next: Next) -> Response {
    let slot = VerdictSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(verdict) = slot.0.get() {
        verdict.write_headers(response.headers_mut());
    }
    response
}

/// Counts the request against the caller's limits: per app client (or private token) per
/// resource, the token's location or, for agency tokens, its company.
async fn count_request(parts: &Parts, state: &AppState, principal: &Principal) -> ApiResult<()> {
    let resource = principal
        .location_id
        .as_deref()
        .unwrap_or(&principal.company_id);
    let key = RateLimiter::key(&principal.client, resource);
    let verdict = match state.limiter.check(&key, now_ms()).await {
        Ok(Some(verdict)) => verdict,
        Ok(None) => return Ok(()),
        // A broken counter store must not take the API down with it.
        Err(error) => {
            tracing::warn!(%error, "rate-limit store failed; request let through");
            return Ok(());
        }
    };
    if let Some(slot) = parts.extensions.get::<VerdictSlot>() {
        // Set once per request: a handler authenticates once.
        let _ = slot.0.set(verdict);
    }
    if verdict.allowed {
        Ok(())
    } else {
        Err(ApiError::RateLimited(verdict))
    }
}

/// Tokens are stored as SHA-256 digests: they are long random strings, so a fast hash is
/// enough, and the plaintext never touches the database.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `bytes` random bytes from the OS-seeded generator, hex-encoded: codes, refresh tokens,
/// session tokens.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Who is calling, whatever the kind of token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: TokenKind,
    pub company_id: String,
    /// The location of a Sub-Account token.
    pub location_id: Option<String>,
    pub scopes: Vec<String>,
    /// What the rate limits count by: the app's client id, or the private token's id.
    pub client: String,
    /// For OAuth tokens: their claims.
    pub claims: Option<AccessClaims>,
}

impl Principal {
    /// `createdBy.channel` of what this caller creates.
    pub fn channel(&self) -> &'static str {
        match &self.claims {
            Some(_) => "OAUTH",
            None => "API",
        }
    }
}

/// An authenticated caller holding a Sub-Account (location) token with the operation's scope.
#[derive(Debug, Clone)]
pub struct Auth {
    pub principal: Principal,
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

/// A Sub-Account caller on a route under `/locations/{locationId}/…`: authenticated as [`Auth`],
/// then 403 unless the path's location is the token's, before any input is read.
#[derive(Debug, Clone)]
pub struct LocationAuth(pub Auth);

/// An authenticated caller on an operation that agency tokens may call (and, for some, location
/// tokens too): the scope and token kind are checked, the resource is the handler's to check.
#[derive(Debug, Clone)]
pub struct AnyAuth(pub Principal);

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    company_id: String,
    location_id: Option<String>,
    scopes: String,
}

/// The bearer token of an `Authorization` header; the scheme is case-insensitive (RFC 7235).
pub(crate) fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller of `parts`, checked against the operation's scope and security schemes, in
/// HighLevel's order: no header, then an invalid token, then the rate limits (a valid token
/// is counted whatever it asks for), then a missing scope.
pub async fn authenticate(parts: &Parts, state: &AppState) -> ApiResult<Principal> {
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
    let principal = resolve(state, token)
        .await?
        .ok_or(ApiError::Unauthorized(INVALID_JWT))?;
    if let Some(slot) = parts.extensions.get::<CallerSlot>() {
        // Set once per request: a handler authenticates once.
        let _ = slot.0.set(principal.clone());
    }
    count_request(parts, state, &principal).await?;
    let has_scope = principal
        .scopes
        .iter()
        .any(|s| s == endpoint.scope.as_str());
    // A token of a kind the operation does not take lacks its scope, as HighLevel answers.
    if !has_scope || !endpoint.access.accepts(principal.kind) {
        return Err(ApiError::Unauthorized(SCOPE_MISSING));
    }
    Ok(principal)
}

/// The caller a bearer token names, if it is valid.
async fn resolve(state: &AppState, token: &str) -> ApiResult<Option<Principal>> {
    if token.starts_with("pit-") {
        private_token(state, token).await
    } else {
        oauth_token(state, token)
    }
}

/// The caller a request's bearer token names, if any: no scope is checked and nothing counted
/// (fault rules that match on the caller use it).
pub async fn identify(headers: &axum::http::HeaderMap, state: &AppState) -> Option<Principal> {
    let token = headers.get(AUTHORIZATION)?.to_str().ok().and_then(bearer)?;
    resolve(state, token).await.ok().flatten()
}

async fn private_token(state: &AppState, token: &str) -> ApiResult<Option<Principal>> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT id, company_id, location_id, scopes FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash_token(token))
    .fetch_optional(state.db.read())
    .await?;
    Ok(row.map(|row| Principal {
        kind: match row.location_id {
            Some(_) => TokenKind::LocationPrivate,
            None => TokenKind::AgencyPrivate,
        },
        company_id: row.company_id,
        location_id: row.location_id,
        scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
        client: row.id,
        claims: None,
    }))
}

/// An OAuth access token: verified by signature, expiry and the in-memory revocation set, with
/// no database read.
fn oauth_token(state: &AppState, token: &str) -> ApiResult<Option<Principal>> {
    let Some(claims) = state.oauth.signer.verify(token, now_ms()) else {
        return Ok(None);
    };
    if state.oauth.revocations.is_revoked(&claims.grant_id) {
        return Ok(None);
    }
    let (kind, location_id) = match claims.user_type() {
        Some(UserType::Location) => (TokenKind::LocationOAuth, Some(claims.auth_class_id.clone())),
        Some(UserType::Company) => (TokenKind::CompanyOAuth, None),
        None => return Ok(None),
    };
    Ok(Some(Principal {
        kind,
        company_id: claims.company_id.clone(),
        location_id,
        scopes: claims.oauth_meta.scopes.clone(),
        client: claims.oauth_meta.client_key.clone(),
        claims: Some(claims),
    }))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let principal = authenticate(parts, state).await?;
        let location_id = principal
            .location_id
            .clone()
            .ok_or(ApiError::Unauthorized(SCOPE_MISSING))?;
        let auth = Auth {
            principal,
            location_id,
        };
        // The body and query extractors compare a `locationId` they carry with the token's.
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

impl FromRequestParts<AppState> for LocationAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let auth = Auth::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| anyhow::anyhow!("path parameters: {e}"))?;
        let location_id = params
            .iter()
            .find_map(|(name, value)| (name == "locationId").then_some(value))
            .ok_or_else(|| anyhow::anyhow!("route without a locationId path parameter"))?;
        auth.check_location(location_id)?;
        Ok(LocationAuth(auth))
    }
}

impl FromRequestParts<AppState> for AnyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        authenticate(parts, state).await.map(AnyAuth)
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
