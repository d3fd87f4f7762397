//! Marketplace apps: client credentials (the secret stored hashed), exact-match redirect URIs,
//! the scopes an install may grant, a webhook URL and the distribution (location or agency).

use anyhow::{bail, Context};
use rand::distributions::{Alphanumeric, DistString};
use serde::Serialize;

use crate::auth::hash_token;
use crate::db::Db;
use crate::ids::new_object_id;
use crate::time::{format_ms, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    Location,
    Agency,
}

impl Distribution {
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::Location => "location",
            Distribution::Agency => "agency",
        }
    }

    pub fn parse(s: &str) -> anyhow::Result<Distribution> {
        match s {
            "location" => Ok(Distribution::Location),
            "agency" => Ok(Distribution::Agency),
            other => bail!("distribution must be location or agency, not {other:?}"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    pub company_id: String,
    pub name: String,
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub webhook_url: Option<String>,
    pub distribution: Distribution,
    pub created_at: String,
}

impl App {
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }
}

/// What `hilo admin app create` is given.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub company_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub webhook_url: Option<String>,
    pub distribution: Distribution,
}

/// An app as created: the client secret is shown this once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApp {
    #[serde(flatten)]
    pub app: App,
    pub client_secret: String,
}

#[derive(sqlx::FromRow)]
struct AppRow {
    id: String,
    company_id: String,
    name: String,
    client_id: String,
    client_secret_hash: String,
    redirect_uris: String,
    scopes: String,
    webhook_url: Option<String>,
    distribution: String,
    created_at: i64,
}

impl AppRow {
    fn into_app(self) -> anyhow::Result<App> {
        Ok(App {
            id: self.id,
            company_id: self.company_id,
            name: self.name,
            client_id: self.client_id,
            redirect_uris: self.redirect_uris.lines().map(str::to_owned).collect(),
            scopes: self.scopes.split_whitespace().map(str::to_owned).collect(),
            webhook_url: self.webhook_url,
            distribution: Distribution::parse(&self.distribution)?,
            created_at: format_ms(self.created_at),
        })
    }
}

const APP_COLUMNS: &str = "id, company_id, name, client_id, client_secret_hash, redirect_uris, \
                           scopes, webhook_url, distribution, created_at";

/// Scopes as given on a command line or in a `scope` parameter: separated by spaces or commas,
/// each one HighLevel defines, no duplicates.
pub fn parse_scope_list(scopes: &str) -> anyhow::Result<Vec<String>> {
    let mut parsed: Vec<String> = Vec::new();
    for scope in scopes.split([' ', ',', '+']).filter(|s| !s.is_empty()) {
        if !crate::scopes::is_known(scope) {
            bail!("unknown scope {scope:?} (see HighLevel's Scopes.md)");
        }
        if !parsed.iter().any(|s| s == scope) {
            parsed.push(scope.to_owned());
        }
    }
    if parsed.is_empty() {
        bail!("at least one scope is needed");
    }
    Ok(parsed)
}

pub(crate) fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    let ok = (uri.starts_with("https://") || uri.starts_with("http://"))
        && !uri.contains(char::is_whitespace)
        && !uri.contains('#');
    if !ok {
        bail!("redirect URI {uri:?} must be an absolute http(s) URL without a fragment");
    }
    Ok(())
}

pub async fn create_app(db: &Db, new: NewApp) -> anyhow::Result<CreatedApp> {
    let name = new.name.trim();
    if name.is_empty() {
        bail!("the app name must not be empty");
    }
    if new.redirect_uris.is_empty() {
        bail!("an app needs at least one --redirect-uri");
    }
    for uri in &new.redirect_uris {
        check_redirect_uri(uri)?;
    }
    if new.scopes.is_empty() {
        bail!("an app needs at least one scope");
    }
    let id = new_object_id();
    // HighLevel's client ids are the app id and a short suffix; secrets look like UUIDs.
    let suffix = Alphanumeric
        .sample_string(&mut rand::thread_rng(), 8)
        .to_lowercase();
    let client_id = format!("{id}-{suffix}");
    let client_secret = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    sqlx::query(&format!(
        "INSERT INTO apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(&id)
    .bind(&new.company_id)
    .bind(name)
    .bind(&client_id)
    .bind(hash_token(&client_secret))
    .bind(new.redirect_uris.join("\n"))
    .bind(new.scopes.join(" "))
    .bind(&new.webhook_url)
    .bind(new.distribution.as_str())
    .bind(now)
    .execute(db.write())
    .await
    .context("creating the app")?;
    Ok(CreatedApp {
        app: App {
            id,
            company_id: new.company_id,
            name: name.to_owned(),
            client_id,
            redirect_uris: new.redirect_uris,
            scopes: new.scopes,
            webhook_url: new.webhook_url,
            distribution: new.distribution,
            created_at: format_ms(now),
        },
        client_secret,
    })
}

pub async fn list_apps(db: &Db) -> anyhow::Result<Vec<App>> {
    let rows: Vec<AppRow> = sqlx::query_as(&format!(
        "SELECT {APP_COLUMNS} FROM apps WHERE deleted_at IS NULL ORDER BY created_at, id"
    ))
    .fetch_all(db.read())
    .await?;
    rows.into_iter().map(AppRow::into_app).collect()
}

/// Deletes an app: its installations end, its grants are revoked (so running servers refuse its
/// access tokens within a revocation poll), its codes and refresh tokens go. The row stays,
/// marked deleted, because the revoked grants that running servers read still point at it.
pub async fn delete_app(db: &Db, id_or_client_id: &str) -> anyhow::Result<bool> {
    let Some(app) = find_app(db, id_or_client_id).await? else {
        return Ok(false);
    };
    let now = now_ms();
    let mut tx = db.write().begin().await?;
    for statement in [
        "UPDATE apps SET deleted_at = $1 WHERE id = $2",
        "UPDATE app_installations SET uninstalled_at = $1 WHERE app_id = $2 AND uninstalled_at IS NULL",
        "UPDATE oauth_grants SET revoked_at = $1 WHERE app_id = $2 AND revoked_at IS NULL",
        "UPDATE oauth_codes SET used_at = $1 WHERE app_id = $2 AND used_at IS NULL",
        "UPDATE oauth_refresh_tokens SET used_at = $1 WHERE used_at IS NULL \
         AND grant_id IN (SELECT id FROM oauth_grants WHERE app_id = $2)",
    ] {
        sqlx::query(statement)
            .bind(now)
            .bind(&app.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// An app by its id or its client id.
pub async fn find_app(db: &Db, id_or_client_id: &str) -> anyhow::Result<Option<App>> {
    find_row(db, id_or_client_id)
        .await?
        .map(AppRow::into_app)
        .transpose()
}

async fn find_row(db: &Db, id_or_client_id: &str) -> Result<Option<AppRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {APP_COLUMNS} FROM apps WHERE (id = $1 OR client_id = $1) AND deleted_at IS NULL"
    ))
    .bind(id_or_client_id.trim())
    .fetch_optional(db.read())
    .await
}

/// The app whose client id and secret these are; `None` when either is wrong.
pub async fn authenticate_client(
    db: &Db,
    client_id: &str,
    client_secret: &str,
) -> anyhow::Result<Option<App>> {
    let Some(row) = find_row(db, client_id).await? else {
        return Ok(None);
    };
    if row.client_id != client_id || row.client_secret_hash != hash_token(client_secret) {
        return Ok(None);
    }
    Ok(Some(row.into_app()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists() {
        assert_eq!(
            parse_scope_list("contacts.readonly,contacts.write contacts.write").unwrap(),
            vec!["contacts.readonly", "contacts.write"]
        );
        assert!(parse_scope_list("contacts.delete").is_err());
        assert!(parse_scope_list(" ").is_err());
    }

    #[test]
    fn redirect_uris_must_be_absolute() {
        assert!(check_redirect_uri("https://app.example.com/cb").is_ok());
        assert!(check_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_redirect_uri("https://x.example/cb#frag").is_err());
    }
}
