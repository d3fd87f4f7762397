//! The grant lifecycle: an install yields a single-use code; the code yields a grant with an
//! access token and a refresh token; refreshing rotates the refresh token within the grant; an
//! agency grant yields location grants; uninstalling or a replayed code revokes grants.

use anyhow::Context;
use serde::Serialize;

use super::apps::{App, Distribution};
use super::jwt::{AccessClaims, OAuthMeta};
use super::{millis, OAuth, UserType};
use crate::auth::{hash_token, random_secret};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::time::now_ms;
use crate::webhooks::events::{AppInstallFields, AppUninstallFields};
use crate::webhooks::{self, Event, EventKind};

/// Where an install goes.
#[derive(Debug, Clone)]
pub enum InstallTarget {
    Location(String),
    /// An agency install, approving some of the agency's locations (all of them when empty).
    Agency {
        company_id: String,
        locations: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub app: App,
    pub target: InstallTarget,
    /// Defaults to every scope of the app.
    pub scopes: Option<Vec<String>>,
    /// Defaults to the app's first redirect URI.
    pub redirect_uri: Option<String>,
    /// The approving agency user; defaults to the agency's first user.
    pub user_id: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Authorization {
    pub code: String,
    pub redirect_url: String,
}

/// The response of `POST /oauth/token` and `POST /oauth/locationToken`, field names as the spec.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    #[serde(rename = "userType", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<&'static str>,
    #[serde(rename = "locationId", skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(rename = "companyId", skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(rename = "approvedLocations", skip_serializing_if = "Option::is_none")]
    pub approved_locations: Option<Vec<String>>,
    #[serde(rename = "isBulkInstallation", skip_serializing_if = "Option::is_none")]
    pub is_bulk_installation: Option<bool>,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "appId", skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct GrantRow {
    id: String,
    installation_id: String,
    user_type: String,
    company_id: String,
    location_id: Option<String>,
    user_id: Option<String>,
    scopes: String,
}

const GRANT_COLUMNS: &str =
    "g.id, g.installation_id, g.user_type, g.company_id, g.location_id, g.user_id, g.scopes";

/// Approves an install as the consent page does, and returns the code and where the browser
/// goes with it.
pub async fn authorize(
    db: &Db,
    oauth: &OAuth,
    request: AuthorizeRequest,
) -> anyhow::Result<Authorization> {
    let app = &request.app;
    let redirect_uri = match &request.redirect_uri {
        Some(uri) if app.allows_redirect(uri) => uri.clone(),
        Some(uri) => anyhow::bail!("redirect URI {uri:?} is not registered for this app"),
        None => app
            .redirect_uris
            .first()
            .cloned()
            .context("the app has no redirect URI")?,
    };
    let scopes = match &request.scopes {
        Some(scopes) => {
            if let Some(extra) = scopes.iter().find(|s| !app.scopes.contains(s)) {
                anyhow::bail!("scope {extra} is not one the app was granted");
            }
            scopes.clone()
        }
        None => app.scopes.clone(),
    };
    let (company_id, location_id, approved) = match &request.target {
        InstallTarget::Location(id) => {
            let location = crate::tenancy::find_location(db, id)
                .await?
                .with_context(|| format!("no location with id {id}"))?;
            (location.company_id, Some(location.id), Vec::new())
        }
        InstallTarget::Agency {
            company_id,
            locations,
        } => {
            if app.distribution != Distribution::Agency {
                anyhow::bail!("the app's distribution is location: install it on a location");
            }
            crate::tenancy::require_company(db, company_id).await?;
            let all: Vec<String> = crate::tenancy::list_company_locations(db, company_id)
                .await?
                .into_iter()
                .map(|l| l.id)
                .collect();
            if let Some(stranger) = locations.iter().find(|l| !all.contains(l)) {
                anyhow::bail!("location {stranger} does not belong to agency {company_id}");
            }
            let approved = if locations.is_empty() {
                all
            } else {
                locations.clone()
            };
            (company_id.clone(), None, approved)
        }
    };
    let user_id = match &request.user_id {
        Some(id) => id.clone(),
        None => first_user(db, &company_id).await?,
    };
    let now = now_ms();
    let mut tx = db.write().begin().await?;
    let installation_id = upsert_installation(
        &mut tx,
        &app.id,
        &company_id,
        location_id.as_deref(),
        &user_id,
        &scopes,
        now,
    )
    .await?;
    for location in &approved {
        upsert_installation(
            &mut tx,
            &app.id,
            &company_id,
            Some(location),
            &user_id,
            &scopes,
            now,
        )
        .await?;
    }
    let code = random_secret(20);
    let user_type = match location_id {
        Some(_) => UserType::Location,
        None => UserType::Company,
    };
    sqlx::query(
        "INSERT INTO oauth_codes (code_hash, app_id, installation_id, user_type, redirect_uri, \
         scopes, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(hash_token(&code))
    .bind(&app.id)
    .bind(&installation_id)
    .bind(user_type.as_str())
    .bind(&redirect_uri)
    .bind(scopes.join(" "))
    .bind(now + millis(oauth.settings.code_ttl))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Authorization {
        redirect_url: redirect_with_code(&redirect_uri, &code, request.state.as_deref()),
        code,
    })
}

/// `redirect_uri?code=…[&state=…]`, keeping a query the URI already has.
pub fn redirect_with_code(redirect_uri: &str, code: &str, state: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", code);
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{}", query.finish())
}

async fn first_user(db: &Db, company_id: &str) -> anyhow::Result<String> {
    let user: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM users WHERE company_id = $1 AND location_id IS NULL \
             ORDER BY created_at, id",
    )
    .bind(company_id)
    .fetch_optional(db.read())
    .await?;
    user.map(|(id,)| id).with_context(|| {
        format!(
            "agency {company_id} has no user to approve the install: create one with \
             `hilo admin user create --agency {company_id} --email EMAIL --password PASSWORD`"
        )
    })
}

async fn upsert_installation(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    app_id: &str,
    company_id: &str,
    location_id: Option<&str>,
    user_id: &str,
    scopes: &[String],
    now: i64,
) -> Result<String, sqlx::Error> {
    let existing: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM app_installations WHERE app_id = $1 AND company_id = $2 \
         AND ((location_id IS NULL AND $3 IS NULL) OR location_id = $3) AND uninstalled_at IS NULL",
    )
    .bind(app_id)
    .bind(company_id)
    .bind(location_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((id,)) = existing {
        sqlx::query("UPDATE app_installations SET scopes = $1, user_id = $2 WHERE id = $3")
            .bind(scopes.join(" "))
            .bind(user_id)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        return Ok(id);
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO app_installations (id, app_id, company_id, location_id, user_id, scopes, \
         installed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(app_id)
    .bind(company_id)
    .bind(location_id)
    .bind(user_id)
    .bind(scopes.join(" "))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let company_name: String = sqlx::query_scalar("SELECT name FROM companies WHERE id = $1")
        .bind(company_id)
        .fetch_one(&mut **tx)
        .await?;
    let fields = AppInstallFields {
        app_id: app_id.to_owned(),
        location_id: location_id.map(str::to_owned),
        company_id: company_id.to_owned(),
        user_id: Some(user_id.to_owned()),
        is_whitelabel_company: false,
        company_name,
    };
    webhooks::enqueue(
        tx,
        Event::for_app(EventKind::AppInstall, app_id, location_id, &fields),
    )
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    app_id: String,
    installation_id: String,
    user_type: String,
    redirect_uri: String,
    scopes: String,
    expires_at: i64,
    used_at: Option<i64>,
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    db: &Db,
    oauth: &OAuth,
    app: &App,
    code: &str,
    redirect_uri: Option<&str>,
    user_type: Option<UserType>,
) -> ApiResult<TokenResponse> {
    let code_hash = hash_token(code);
    let row: Option<CodeRow> = sqlx::query_as(
        "SELECT app_id, installation_id, user_type, redirect_uri, scopes, expires_at, used_at \
         FROM oauth_codes WHERE code_hash = $1",
    )
    .bind(&code_hash)
    .fetch_optional(db.write())
    .await?;
    let invalid = || ApiError::invalid_grant("Invalid grant: authorization code is invalid");
    let row = row.filter(|r| r.app_id == app.id).ok_or_else(invalid)?;
    let now = now_ms();
    if row.used_at.is_some() {
        // A replayed code may have been stolen: what it issued is revoked (RFC 6749 §4.1.2).
        let issued = sqlx::query_as("SELECT id FROM oauth_grants WHERE code_hash = $1")
            .bind(&code_hash)
            .fetch_all(db.write())
            .await?;
        revoke_grants(db, oauth, issued).await?;
        return Err(invalid());
    }
    if row.expires_at <= now {
        return Err(ApiError::invalid_grant(
            "Invalid grant: authorization code has expired",
        ));
    }
    if redirect_uri.is_some_and(|uri| uri != row.redirect_uri) {
        return Err(ApiError::invalid_grant(
            "Invalid grant: redirect_uri does not match the one the code was issued for",
        ));
    }
    let code_type = UserType::parse(&row.user_type).ok_or_else(invalid)?;
    if user_type.is_some_and(|t| t != code_type) {
        return Err(ApiError::invalid_request(format!(
            "Invalid request: this code was issued for user_type {}",
            code_type.as_str()
        )));
    }
    let installation = installation(db, &row.installation_id)
        .await?
        .ok_or_else(invalid)?;
    let mut tx = db.write().begin().await?;
    let claimed =
        sqlx::query("UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now)
            .bind(&code_hash)
            .execute(&mut *tx)
            .await?;
    if claimed.rows_affected() != 1 {
        // Another request exchanged it a moment ago.
        return Err(invalid());
    }
    let grant = GrantRow {
        id: new_id(),
        installation_id: installation.id,
        user_type: code_type.as_str().to_owned(),
        company_id: installation.company_id,
        location_id: installation.location_id,
        user_id: installation.user_id,
        scopes: row.scopes,
    };
    insert_grant(&mut tx, app, &grant, None, Some(&code_hash), now).await?;
    let refresh_token = insert_refresh_token(&mut tx, oauth, &grant.id, now).await?;
    tx.commit().await?;
    let approved = match code_type {
        UserType::Company => Some(installed_locations(db, &app.id, &grant.company_id).await?),
        UserType::Location => None,
    };
    token_response(oauth, app, &grant, Some(refresh_token), approved, now)
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    grant_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    app_id: String,
}

/// `grant_type=refresh_token`: the old refresh token stops working, a new one is returned.
pub async fn refresh(
    db: &Db,
    oauth: &OAuth,
    app: &App,
    refresh_token: &str,
    user_type: Option<UserType>,
) -> ApiResult<TokenResponse> {
    let token_hash = hash_token(refresh_token);
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT t.grant_id, t.expires_at, t.used_at, g.revoked_at, g.app_id \
         FROM oauth_refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id \
         WHERE t.token_hash = $1",
    )
    .bind(&token_hash)
    .fetch_optional(db.write())
    .await?;
    let invalid = || ApiError::invalid_grant("Invalid grant: refresh token is invalid");
    let row = row.ok_or_else(invalid)?;
    let now = now_ms();
    if row.app_id != app.id || row.used_at.is_some() || row.revoked_at.is_some() {
        return Err(invalid());
    }
    if row.expires_at <= now {
        return Err(ApiError::invalid_grant(
            "Invalid grant: refresh token has expired",
        ));
    }
    let grant = find_grant(db, &row.grant_id).await?.ok_or_else(invalid)?;
    let grant_type = UserType::parse(&grant.user_type).ok_or_else(invalid)?;
    if user_type.is_some_and(|t| t != grant_type) {
        return Err(ApiError::invalid_request(format!(
            "Invalid request: this refresh token was issued for user_type {}",
            grant_type.as_str()
        )));
    }
    let mut tx = db.write().begin().await?;
    let claimed = sqlx::query(
        "UPDATE oauth_refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&token_hash)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(invalid());
    }
    let new_refresh = insert_refresh_token(&mut tx, oauth, &grant.id, now).await?;
    tx.commit().await?;
    let approved = match grant_type {
        UserType::Company => Some(installed_locations(db, &app.id, &grant.company_id).await?),
        UserType::Location => None,
    };
    token_response(oauth, app, &grant, Some(new_refresh), approved, now)
}

/// `POST /oauth/locationToken`: a Location token from a Company token, for a location of the
/// agency where the app is installed. It lives in a child grant, so revoking the agency grant
/// or uninstalling from the location revokes it.
pub async fn location_token(
    db: &Db,
    oauth: &OAuth,
    company_claims: &AccessClaims,
    company_id: &str,
    location_id: &str,
) -> ApiResult<TokenResponse> {
    if company_id != company_claims.company_id {
        return Err(ApiError::wrong_company());
    }
    let app = super::apps::find_app(db, &company_claims.oauth_meta.client)
        .await?
        .ok_or(ApiError::Unauthorized(crate::error::INVALID_JWT))?;
    let installation: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, user_id FROM app_installations WHERE app_id = $1 AND company_id = $2 \
         AND location_id = $3 AND uninstalled_at IS NULL",
    )
    .bind(&app.id)
    .bind(company_id)
    .bind(location_id)
    .fetch_optional(db.read())
    .await?;
    let Some((installation_id, user_id)) = installation else {
        return Err(ApiError::bad_request(format!(
            "The app is not installed on location {location_id}"
        )));
    };
    let now = now_ms();
    let grant = GrantRow {
        id: new_id(),
        installation_id,
        user_type: UserType::Location.as_str().to_owned(),
        company_id: company_id.to_owned(),
        location_id: Some(location_id.to_owned()),
        user_id,
        scopes: company_claims.oauth_meta.scopes.join(" "),
    };
    let mut tx = db.write().begin().await?;
    insert_grant(
        &mut tx,
        &app,
        &grant,
        Some(&company_claims.grant_id),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    let mut response = token_response(oauth, &app, &grant, None, None, now)?;
    response.user_type = None;
    response.company_id = None;
    response.app_id = Some(app.id);
    Ok(response)
}

fn token_response(
    oauth: &OAuth,
    app: &App,
    grant: &GrantRow,
    refresh_token: Option<String>,
    approved_locations: Option<Vec<String>>,
    now: i64,
) -> ApiResult<TokenResponse> {
    let user_type = UserType::parse(&grant.user_type)
        .ok_or_else(|| anyhow::anyhow!("grant {} has user type {}", grant.id, grant.user_type))?;
    let auth_class_id = match (user_type, &grant.location_id) {
        (UserType::Location, Some(location_id)) => location_id.clone(),
        (UserType::Location, None) => {
            return Err(anyhow::anyhow!("location grant {} has no location", grant.id).into())
        }
        (UserType::Company, _) => grant.company_id.clone(),
    };
    let ttl_secs = oauth.settings.access_token_ttl.as_secs();
    let scopes: Vec<String> = grant.scopes.split_whitespace().map(str::to_owned).collect();
    let claims = AccessClaims {
        auth_class: user_type.as_str().to_owned(),
        primary_auth_class_id: auth_class_id.clone(),
        auth_class_id,
        source: "INTEGRATION".to_owned(),
        source_id: app.client_id.clone(),
        channel: "OAUTH".to_owned(),
        oauth_meta: OAuthMeta {
            scopes: scopes.clone(),
            client: app.id.clone(),
            version_id: app.id.clone(),
            client_key: app.client_id.clone(),
        },
        company_id: grant.company_id.clone(),
        grant_id: grant.id.clone(),
        iat: now / 1000,
        exp: now / 1000 + i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
    };
    Ok(TokenResponse {
        access_token: oauth.signer.sign(&claims)?,
        token_type: "Bearer",
        expires_in: ttl_secs,
        refresh_token,
        scope: scopes.join(" "),
        user_type: Some(user_type.as_str()),
        location_id: grant.location_id.clone(),
        company_id: Some(grant.company_id.clone()),
        is_bulk_installation: approved_locations.as_ref().map(|_| false),
        approved_locations,
        user_id: grant.user_id.clone().unwrap_or_default(),
        app_id: None,
    })
}

async fn insert_grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    app: &App,
    grant: &GrantRow,
    parent_grant_id: Option<&str>,
    code_hash: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_grants (id, app_id, installation_id, parent_grant_id, code_hash, \
         user_type, company_id, location_id, user_id, scopes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&grant.id)
    .bind(&app.id)
    .bind(&grant.installation_id)
    .bind(parent_grant_id)
    .bind(code_hash)
    .bind(&grant.user_type)
    .bind(&grant.company_id)
    .bind(&grant.location_id)
    .bind(&grant.user_id)
    .bind(&grant.scopes)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_refresh_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    oauth: &OAuth,
    grant_id: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    let token = random_secret(32);
    sqlx::query(
        "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(hash_token(&token))
    .bind(grant_id)
    .bind(now + millis(oauth.settings.refresh_token_ttl))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

async fn find_grant(db: &Db, id: &str) -> Result<Option<GrantRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM oauth_grants g WHERE g.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.write())
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Installation {
    pub id: String,
    pub app_id: String,
    pub company_id: String,
    pub location_id: Option<String>,
    pub user_id: Option<String>,
    pub installed_at: i64,
}

async fn installation(db: &Db, id: &str) -> Result<Option<Installation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, app_id, company_id, location_id, user_id, installed_at \
         FROM app_installations WHERE id = $1 AND uninstalled_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db.write())
    .await
}

/// The agency's locations where the app is installed.
pub async fn installed_locations(
    db: &Db,
    app_id: &str,
    company_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT location_id FROM app_installations WHERE app_id = $1 AND company_id = $2 \
         AND location_id IS NOT NULL AND uninstalled_at IS NULL ORDER BY installed_at, id",
    )
    .bind(app_id)
    .bind(company_id)
    .fetch_all(db.write())
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Uninstalls the app from a location, or from an agency and all its locations; every grant of
/// those installations (and their child grants) is revoked. False when nothing was installed.
pub async fn uninstall(
    db: &Db,
    oauth: &OAuth,
    app_id: &str,
    company_id: &str,
    location_id: Option<&str>,
) -> anyhow::Result<bool> {
    let now = now_ms();
    let mut tx = db.write().begin().await?;
    let scope = match location_id {
        Some(_) => "app_id = $2 AND company_id = $3 AND location_id = $4",
        None => "app_id = $2 AND company_id = $3",
    };
    let sql = format!(
        "UPDATE app_installations SET uninstalled_at = $1 WHERE {scope} AND uninstalled_at IS NULL"
    );
    let mut query = sqlx::query(&sql).bind(now).bind(app_id).bind(company_id);
    if let Some(location_id) = location_id {
        query = query.bind(location_id);
    }
    let done = query.execute(&mut *tx).await?;
    // One UNINSTALL per installation ended: the agency's names the agency, a location's the
    // location (AppUninstall.md).
    let sql =
        format!("SELECT location_id FROM app_installations WHERE uninstalled_at = $1 AND {scope}");
    let mut query = sqlx::query_scalar(&sql)
        .bind(now)
        .bind(app_id)
        .bind(company_id);
    if let Some(location_id) = location_id {
        query = query.bind(location_id);
    }
    let ended: Vec<Option<String>> = query.fetch_all(&mut *tx).await?;
    for location in ended {
        let fields = AppUninstallFields {
            app_id: app_id.to_owned(),
            company_id: location.is_none().then(|| company_id.to_owned()),
            location_id: location.clone(),
        };
        let event = Event::for_app(
            EventKind::AppUninstall,
            app_id,
            location.as_deref(),
            &fields,
        );
        webhooks::enqueue(&mut tx, event).await?;
    }
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let grants = sqlx::query_as(
        "SELECT id FROM oauth_grants WHERE installation_id IN \
         (SELECT id FROM app_installations WHERE app_id = $1 AND uninstalled_at = $2)",
    )
    .bind(app_id)
    .bind(now)
    .fetch_all(db.write())
    .await?;
    revoke_grants(db, oauth, grants).await?;
    Ok(true)
}

/// Revokes `roots` and their child grants, and tells this process's revocation set at once.
async fn revoke_grants(db: &Db, oauth: &OAuth, roots: Vec<(String,)>) -> anyhow::Result<()> {
    let now = now_ms();
    let mut tx = db.write().begin().await?;
    let mut revoked = Vec::new();
    for (root,) in roots {
        let children: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM oauth_grants WHERE parent_grant_id = $1")
                .bind(&root)
                .fetch_all(&mut *tx)
                .await?;
        revoked.push(root);
        revoked.extend(children.into_iter().map(|(id,)| id));
    }
    for id in &revoked {
        sqlx::query("UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    oauth.revocations.insert(revoked, now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_carry_code_and_state() {
        assert_eq!(
            redirect_with_code("https://app.example/cb", "abc", None),
            "https://app.example/cb?code=abc"
        );
        assert_eq!(
            redirect_with_code("https://app.example/cb?x=1", "abc", Some("s t&u")),
            "https://app.example/cb?x=1&code=abc&state=s+t%26u"
        );
    }
}
