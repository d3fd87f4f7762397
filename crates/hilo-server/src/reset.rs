//! Resetting a location to empty for a sandbox: every contact and everything under it, its
//! businesses, custom fields, campaigns and workflows go, in one transaction. The location
//! itself, its users, tokens and app installs stay, so clients keep working against it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::Db;
use crate::tenancy::find_location;

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

/// How many rows each table lost.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reset {
    pub location_id: String,
    pub removed: BTreeMap<String, u64>,
}

/// Empties the location; `Ok(None)` when there is no such location.
pub async fn reset_location(db: &Db, location_id: &str) -> anyhow::Result<Option<Reset>> {
    if find_location(db, location_id).await?.is_none() {
        return Ok(None);
    }
    let mut tx = db.write().begin().await?;
    let mut removed = BTreeMap::new();
    for table in LOCATION_TABLES {
        let rows = sqlx::query(&format!("DELETE FROM {table} WHERE location_id = $1"))
            .bind(location_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        removed.insert(table.to_owned(), rows);
    }
    tx.commit().await?;
    Ok(Some(Reset {
        location_id: location_id.to_owned(),
        removed,
    }))
}
