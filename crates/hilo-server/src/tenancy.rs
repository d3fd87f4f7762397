//! Agencies (companies), locations (sub-accounts) and private integration tokens: what the admin
//! CLI manages and what authentication reads. Also the demo seed of a new database.

use anyhow::{bail, Context};
use serde::Serialize;

use crate::auth::hash_token;
use crate::db::{Db, Flag};
use crate::endpoints::Scope;
use crate::fixtures;
use crate::ids::{new_id, new_private_integration_token};
use crate::time::now_ms;
use crate::webhooks::events::LocationFields;
use crate::webhooks::{self, EventKind};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    pub company_id: String,
    pub name: String,
    pub country: String,
    pub timezone: String,
    pub allow_duplicate_contact: Flag,
    /// `settings.contactUniqueIdentifiers`, space-separated; read it with
    /// [`Location::unique_identifiers`].
    #[serde(serialize_with = "space_separated")]
    pub contact_unique_identifiers: String,
}

/// A field that identifies a contact within its location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactIdentifier {
    Email,
    Phone,
}

impl ContactIdentifier {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactIdentifier::Email => "email",
            ContactIdentifier::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<ContactIdentifier> {
        match s {
            "email" => Some(ContactIdentifier::Email),
            "phone" => Some(ContactIdentifier::Phone),
            _ => None,
        }
    }
}

impl Location {
    /// The identifiers in priority order; HighLevel's default (email, then phone) if the stored
    /// list is empty.
    pub fn unique_identifiers(&self) -> Vec<ContactIdentifier> {
        let configured: Vec<ContactIdentifier> = self
            .contact_unique_identifiers
            .split_whitespace()
            .filter_map(ContactIdentifier::parse)
            .collect();
        if configured.is_empty() {
            vec![ContactIdentifier::Email, ContactIdentifier::Phone]
        } else {
            configured
        }
    }
}

fn space_separated<S: serde::Serializer>(list: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(list.split_whitespace())
}

/// A token as created: the plaintext is shown this once and stored only as a hash.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub company_id: String,
    /// `None` for an agency token.
    pub location_id: Option<String>,
    pub scopes: Vec<String>,
}

pub async fn create_company(db: &Db, name: &str) -> anyhow::Result<Company> {
    let name = non_empty(name, "agency name")?;
    let company = Company {
        id: new_id(),
        name: name.to_owned(),
    };
    sqlx::query("INSERT INTO companies (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&company.id)
        .bind(&company.name)
        .bind(now_ms())
        .execute(db.write())
        .await?;
    Ok(company)
}

pub async fn list_companies(db: &Db) -> anyhow::Result<Vec<Company>> {
    Ok(
        sqlx::query_as("SELECT id, name FROM companies ORDER BY created_at, id")
            .fetch_all(db.read())
            .await?,
    )
}

pub async fn find_company(db: &Db, id: &str) -> Result<Option<Company>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM companies WHERE id = $1")
        .bind(id)
        .fetch_optional(db.read())
        .await
}

pub async fn require_company(db: &Db, id: &str) -> anyhow::Result<Company> {
    find_company(db, id)
        .await?
        .with_context(|| format!("no agency with id {id}"))
}

/// The agency a location goes to when none is named: the only one there is.
pub async fn default_company(db: &Db) -> anyhow::Result<Company> {
    let mut companies = list_companies(db).await?;
    match companies.len() {
        0 => bail!("no agency exists yet: create one with `hilo admin agency create --name NAME`"),
        1 => Ok(companies.remove(0)),
        n => bail!("there are {n} agencies: name one with --agency ID"),
    }
}

pub async fn create_location(
    db: &Db,
    company_id: Option<&str>,
    name: &str,
) -> anyhow::Result<Location> {
    let name = non_empty(name, "location name")?;
    let company = match company_id {
        Some(id) => require_company(db, id).await?,
        None => default_company(db).await?,
    };
    let location = Location {
        id: new_id(),
        company_id: company.id,
        name: name.to_owned(),
        country: "US".to_owned(),
        timezone: "America/New_York".to_owned(),
        allow_duplicate_contact: Flag(false),
        contact_unique_identifiers: "email phone".to_owned(),
    };
    let mut tx = db.write().begin().await?;
    sqlx::query(
        "INSERT INTO locations (id, company_id, name, country, timezone, allow_duplicate_contact, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&location.id)
    .bind(&location.company_id)
    .bind(&location.name)
    .bind(&location.country)
    .bind(&location.timezone)
    .bind(location.allow_duplicate_contact)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    webhooks::enqueue(
        &mut tx,
        location_event(EventKind::LocationCreate, &location),
    )
    .await?;
    tx.commit().await?;
    Ok(location)
}

fn location_event(kind: EventKind, location: &Location) -> webhooks::Event {
    let fields = LocationFields {
        id: location.id.clone(),
        company_id: location.company_id.clone(),
        name: location.name.clone(),
    };
    webhooks::Event::of_location_itself(kind, &fields)
}

const LOCATION_COLUMNS: &str =
    "id, company_id, name, country, timezone, allow_duplicate_contact, contact_unique_identifiers";

pub async fn list_locations(db: &Db) -> anyhow::Result<Vec<Location>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {LOCATION_COLUMNS} FROM locations ORDER BY created_at, id"
    ))
    .fetch_all(db.read())
    .await?)
}

/// The agency's locations, oldest first.
pub async fn list_company_locations(db: &Db, company_id: &str) -> anyhow::Result<Vec<Location>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {LOCATION_COLUMNS} FROM locations WHERE company_id = $1 ORDER BY created_at, id"
    ))
    .bind(company_id)
    .fetch_all(db.read())
    .await?)
}

pub async fn find_location(db: &Db, id: &str) -> Result<Option<Location>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {LOCATION_COLUMNS} FROM locations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await
}

async fn require_location(db: &Db, id: &str) -> anyhow::Result<Location> {
    find_location(db, id)
        .await?
        .with_context(|| format!("no location with id {id}"))
}

/// Changes a location's duplicate-contact settings; `None` leaves a setting as it is.
pub async fn update_contact_settings(
    db: &Db,
    location_id: &str,
    allow_duplicate_contact: Option<bool>,
    unique_identifiers: Option<&[ContactIdentifier]>,
) -> anyhow::Result<Location> {
    let current = require_location(db, location_id).await?;
    if unique_identifiers.is_some_and(<[ContactIdentifier]>::is_empty) {
        bail!("name at least one contact identifier (email, phone)");
    }
    let identifiers = match unique_identifiers {
        Some(list) => list
            .iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        None => current.contact_unique_identifiers.clone(),
    };
    let mut tx = db.write().begin().await?;
    sqlx::query(
        "UPDATE locations SET allow_duplicate_contact = $1, contact_unique_identifiers = $2 \
         WHERE id = $3",
    )
    .bind(Flag(
        allow_duplicate_contact.unwrap_or(current.allow_duplicate_contact.0),
    ))
    .bind(identifiers)
    .bind(location_id)
    .execute(&mut *tx)
    .await?;
    webhooks::enqueue(&mut tx, location_event(EventKind::LocationUpdate, &current)).await?;
    tx.commit().await?;
    require_location(db, location_id).await
}

/// Scopes as a space-separated list, each one hilo implements.
pub fn parse_scopes(scopes: &str) -> anyhow::Result<Vec<Scope>> {
    let parsed: Vec<Scope> = scopes
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| {
            Scope::parse(s).with_context(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope {s:?}; hilo implements: {}", known.join(" "))
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if parsed.is_empty() {
        bail!("a token needs at least one scope");
    }
    Ok(parsed)
}

/// Whose private integration token it is.
#[derive(Debug, Clone, Copy)]
pub enum TokenOwner<'a> {
    Location(&'a str),
    Agency(&'a str),
}

/// A new private integration token for a location or an agency.
pub async fn create_token(
    db: &Db,
    owner: TokenOwner<'_>,
    scopes: &[Scope],
) -> anyhow::Result<IssuedToken> {
    let (company_id, location_id) = match owner {
        TokenOwner::Location(id) => {
            let location = require_location(db, id).await?;
            (location.company_id, Some(location.id))
        }
        TokenOwner::Agency(id) => {
            let company = require_company(db, id).await?;
            (company.id, None)
        }
    };
    let scopes: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let issued = IssuedToken {
        id: new_id(),
        token: new_private_integration_token(),
        company_id,
        location_id,
        scopes,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, token_hash, kind, company_id, location_id, scopes, created_at) \
         VALUES ($1, $2, 'private_integration', $3, $4, $5, $6)",
    )
    .bind(&issued.id)
    .bind(hash_token(&issued.token))
    .bind(&issued.company_id)
    .bind(&issued.location_id)
    .bind(issued.scopes.join(" "))
    .bind(now_ms())
    .execute(db.write())
    .await?;
    Ok(issued)
}

/// Revokes a token given in plaintext; false if no live token matched.
pub async fn revoke_token(db: &Db, token: &str) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(hash_token(token.trim()))
    .execute(db.write())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// What the demo seed created, for `hilo serve` to print.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub company: Company,
    pub location: Location,
    pub user: crate::users::User,
    pub token: IssuedToken,
}

/// On an empty database: a demo agency, a demo location, a demo agency user (without a
/// password: the installer of headless OAuth installs) and a private integration token with
/// every scope a Sub-Account token can use. `None` when the database already has an agency.
pub async fn seed_demo(db: &Db) -> anyhow::Result<Option<DemoSeed>> {
    let mut tx = db.write().begin().await?;
    // Two processes starting on one empty database must not both seed it: the check and the
    // seed are one step under the table's write lock.
    crate::db::lock_table(&mut tx, "companies").await?;
    let companies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM companies")
        .fetch_one(&mut *tx)
        .await?;
    if companies > 0 {
        return Ok(None);
    }
    let seed = seed_demo_in(&mut tx).await?;
    tx.commit().await?;
    Ok(Some(seed))
}

/// The demo seed, written in `tx` as a fixtures document (a full reset to the demo uses it).
pub(crate) async fn seed_demo_in(tx: &mut sqlx::AnyConnection) -> anyhow::Result<DemoSeed> {
    let scopes: Vec<String> = Scope::usable_by(crate::endpoints::TokenKind::LocationPrivate)
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let token = IssuedToken {
        id: new_id(),
        token: new_private_integration_token(),
        company_id: new_id(),
        location_id: Some(new_id()),
        scopes,
    };
    let user = crate::users::User {
        id: new_id(),
        company_id: token.company_id.clone(),
        email: "admin@demo.hilo.local".to_owned(),
        name: "Demo Admin".to_owned(),
        location_id: None,
    };
    let location = fixtures::Location {
        id: token.location_id.clone().unwrap_or_default(),
        name: "Demo Location".to_owned(),
        tokens: vec![fixtures::Token {
            id: token.id.clone(),
            token: Some(token.token.clone()),
            scopes: fixtures::Separated(token.scopes.clone()),
            ..fixtures::Token::default()
        }],
        ..fixtures::Location::default()
    };
    let company = Company {
        id: token.company_id.clone(),
        name: "Demo Agency".to_owned(),
    };
    let demo = fixtures::Fixtures {
        hilo_fixtures: fixtures::FORMAT,
        agencies: vec![fixtures::Agency {
            id: company.id.clone(),
            name: company.name.clone(),
            users: vec![fixtures::User {
                id: user.id.clone(),
                email: user.email.clone(),
                name: user.name.clone(),
                ..fixtures::User::default()
            }],
            locations: vec![location.clone()],
            ..fixtures::Agency::default()
        }],
    };
    fixtures::load_in(tx, demo, false).await?;
    Ok(DemoSeed {
        location: Location {
            id: location.id,
            company_id: company.id.clone(),
            name: location.name,
            country: location.country,
            timezone: location.timezone,
            allow_duplicate_contact: location.allow_duplicate_contact,
            contact_unique_identifiers: location.contact_unique_identifiers.joined(),
        },
        company,
        user,
        token,
    })
}

fn non_empty<'a>(s: &'a str, what: &str) -> anyhow::Result<&'a str> {
    let s = s.trim();
    if s.is_empty() {
        bail!("the {what} must not be empty");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_with_spaces_or_commas() {
        assert_eq!(
            parse_scopes("contacts.readonly contacts.write").unwrap(),
            vec![Scope::ContactsReadonly, Scope::ContactsWrite]
        );
        assert_eq!(
            parse_scopes("contacts.readonly,businesses.write").unwrap(),
            vec![Scope::ContactsReadonly, Scope::BusinessesWrite]
        );
        assert!(parse_scopes("contacts.read").is_err());
        assert!(parse_scopes("  ").is_err());
    }
}
