//! Resetting a sandbox, in one transaction each:
//! - a location to empty: every contact and everything under it, its businesses, custom fields,
//!   campaigns and workflows go; the location itself, its users, tokens and app installs stay,
//!   so clients keep working against it. To the demo, its contact settings also return to a
//!   new location's (the demo seed holds no contacts).
//! - everything: every agency and all it holds (locations, users, apps and their installs and
//!   grants, tokens, sessions) goes, and the access-token signing key is replaced, so no token
//!   issued before works after; to the demo, the demo seed is created again in the same
//!   transaction. The admin key stays.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::AnyConnection;

use crate::db::Db;
use crate::tenancy::{find_location, DemoSeed};

/// The tables that hold a location's data, children before the rows they point at.
const LOCATION_TABLES: [&str; 12] = [
    "contact_tags",
    "tasks",
    "notes",
    "contact_followers",
    "contact_campaigns",
    "contact_workflows",
    "deleted_contacts",
    "contacts",
    "businesses",
    "custom_fields",
    "campaigns",
    "workflows",
];

/// Every other table of an agency's, children before the rows they point at (`server_keys`
/// is the server's own and stays).
const AGENCY_TABLES: [&str; 12] = [
    // The webhook outbox points at apps; after a full reset nothing of it is due any more.
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_events",
    "user_sessions",
    "oauth_refresh_tokens",
    "oauth_codes",
    "oauth_grants",
    "app_installations",
    "apps",
    "api_tokens",
    "users",
    "locations",
];

/// Empty, or back to what the demo seed creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetTo {
    #[default]
    Empty,
    Demo,
}

/// How many rows each table lost.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reset {
    pub location_id: String,
    pub removed: BTreeMap<String, u64>,
}

/// Empties the location; `Ok(None)` when there is no such location.
pub async fn reset_location(
    db: &Db,
    location_id: &str,
    to: ResetTo,
) -> anyhow::Result<Option<Reset>> {
    if find_location(db, location_id).await?.is_none() {
        return Ok(None);
    }
    let mut tx = db.write().begin().await?;
    let removed = empty_location(&mut tx, location_id).await?;
    if to == ResetTo::Demo {
        sqlx::query(
            "UPDATE locations SET allow_duplicate_contact = 0, \
             contact_unique_identifiers = 'email phone' WHERE id = $1",
        )
        .bind(location_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(Reset {
        location_id: location_id.to_owned(),
        removed,
    }))
}

/// Deletes the location's data in `tx`; how many rows each table lost.
pub(crate) async fn empty_location(
    tx: &mut AnyConnection,
    location_id: &str,
) -> Result<BTreeMap<String, u64>, sqlx::Error> {
    let mut removed = BTreeMap::new();
    for table in LOCATION_TABLES {
        let rows = sqlx::query(&format!("DELETE FROM {table} WHERE location_id = $1"))
            .bind(location_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        removed.insert(table.to_owned(), rows);
    }
    Ok(removed)
}

/// What a full reset removed, and the demo it created.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FullReset {
    pub removed: BTreeMap<String, u64>,
    pub demo: Option<Demo>,
}

/// The demo a full reset created, with its token (shown this once, as on a first start).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Demo {
    pub agency_id: String,
    pub location_id: String,
    pub user_id: String,
    pub token: String,
    pub scopes: Vec<String>,
}

impl From<DemoSeed> for Demo {
    fn from(seed: DemoSeed) -> Demo {
        Demo {
            agency_id: seed.company.id,
            location_id: seed.location.id,
            user_id: seed.user.id,
            token: seed.token.token,
            scopes: seed.token.scopes,
        }
    }
}

/// Removes every agency and all it holds, replaces the token signing key, and with
/// [`ResetTo::Demo`] seeds the demo again, all in one transaction. Processes serving this
/// database refuse old OAuth tokens once they reload the key: the caller's own process should
/// reload at once (`OAuth::signer.reload`), others do within their poll.
pub async fn reset_everything(db: &Db, to: ResetTo) -> anyhow::Result<FullReset> {
    let mut tx = db.write().begin().await?;
    let mut removed = BTreeMap::new();
    for table in LOCATION_TABLES
        .into_iter()
        .chain(AGENCY_TABLES)
        .chain(["companies"])
    {
        let rows = sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        removed.insert(table.to_owned(), rows);
    }
    crate::oauth::jwt::rotate_key(&mut tx).await?;
    let demo = match to {
        ResetTo::Empty => None,
        ResetTo::Demo => Some(crate::tenancy::seed_demo_in(&mut tx).await?.into()),
    };
    tx.commit().await?;
    Ok(FullReset { removed, demo })
}
