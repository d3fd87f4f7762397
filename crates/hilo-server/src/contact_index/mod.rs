//! The in-memory index of each location's contacts that answers `POST /contacts/search` when
//! the search uses only what it holds (names, email, company, phone, owner, DND, dates, tags,
//! followers, workflows, number custom fields, and the free text): a set of contacts per tag,
//! follower and workflow, a column per field, so that a search and its exact `total` cost
//! set operations and scans of memory instead of one B-tree probe per candidate. Any other
//! search is rendered as SQL (`contact_search`), as before.
//!
//! The database stays the truth. Triggers (migration 0010) raise a contact's row in
//! `contact_changes` whenever it, its tags, followers or enrolments change, in any process;
//! before each search the index reads the rows past the last it saw and reloads those contacts,
//! so a search sees every write committed before it, whichever process made it. A location is
//! loaded whole on its first search (about 10 s for 1,000,000 contacts) and kept while the
//! process runs.

mod search;
mod text;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::TryStreamExt;
use roaring::RoaringBitmap;
use serde::Deserialize;
use sqlx::Row;
use tokio::sync::RwLock;

use crate::contact_search::SearchQuery;
use crate::db::{Backend, Db};
use crate::sql::{bind_list, SqlBuilder};
use text::TextColumn;

/// Past this many changed contacts at once (and a quarter of the location), loading the whole
/// location again is cheaper than reloading them one batch at a time.
const RELOAD_ALL_AFTER: usize = 20_000;
/// Locations up to this size load during their first search (under a second); larger ones load
/// in the background while SQL answers.
const LOAD_INLINE_UPTO: i64 = 20_000;
/// Contacts reloaded per query.
const BATCH: usize = 500;

/// The indexes of the locations searched so far in this process.
pub struct ContactIndexes {
    locations: Mutex<HashMap<String, Arc<Slot>>>,
    /// Locations up to this many contacts load during their first search.
    load_inline_upto: i64,
}

impl Default for ContactIndexes {
    fn default() -> Self {
        ContactIndexes::loading_inline_upto(LOAD_INLINE_UPTO)
    }
}

/// A location's index, once loaded.
#[derive(Default)]
struct Slot {
    index: RwLock<Option<LocationIndex>>,
    /// A load runs in the background.
    loading: AtomicBool,
}

impl std::fmt::Debug for ContactIndexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let locations = self
            .locations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("ContactIndexes")
            .field("locations", &locations)
            .finish()
    }
}

/// A search answered from the index: the exact total, and the page's contact ids in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Hits {
    pub total: u64,
    pub ids: Vec<String>,
}

impl ContactIndexes {
    /// The search over the location's contacts as of now, or `None` when it uses something the
    /// index does not hold, or while the location loads (the caller then asks SQL).
    pub async fn search(
        &self,
        db: &Db,
        location_id: &str,
        q: &SearchQuery,
    ) -> Result<Option<Hits>, sqlx::Error> {
        if !search::sortable(q) {
            return Ok(None);
        }
        let slot = self.slot(location_id);
        // Catching up is exclusive, so that two searches never apply the same contact's
        // reloads out of order; the search itself shares the index.
        let mut index = slot.index.write().await;
        let caught_up = match index.as_mut() {
            Some(current) => current.catch_up(db, location_id).await?,
            None => false,
        };
        if !caught_up {
            // Dropped first: two copies of a large location need not fit at once.
            *index = None;
            drop(index);
            if !self.load(&slot, db, location_id, false).await? {
                return Ok(None);
            }
            index = slot.index.write().await;
        }
        let index = index.downgrade();
        Ok(index.as_ref().and_then(|index| index.search(q)))
    }

    /// Loads the location now, however large, so that its first search need not wait (the
    /// benchmark's warm-up).
    pub async fn preload(&self, db: &Db, location_id: &str) -> Result<(), sqlx::Error> {
        self.load(&self.slot(location_id), db, location_id, true)
            .await?;
        Ok(())
    }

    /// Indexes that load locations of over `contacts` in the background.
    pub fn loading_inline_upto(contacts: i64) -> ContactIndexes {
        ContactIndexes {
            locations: Mutex::default(),
            load_inline_upto: contacts,
        }
    }

    fn slot(&self, location_id: &str) -> Arc<Slot> {
        self.locations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(location_id.to_owned())
            .or_default()
            .clone()
    }

    /// Loads a location into its slot; a large one (unless `now`) in the background, searched
    /// with SQL meanwhile. Whether the index is there.
    async fn load(
        &self,
        slot: &Arc<Slot>,
        db: &Db,
        location_id: &str,
        now: bool,
    ) -> Result<bool, sqlx::Error> {
        if slot.loading.swap(true, AtomicOrdering::AcqRel) {
            return Ok(false);
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE location_id = $1")
            .bind(location_id)
            .fetch_one(db.read())
            .await
            .inspect_err(|_| slot.loading.store(false, AtomicOrdering::Release))?;
        // Marked done only once the index is in place, so that no search starts a second load.
        if now || count <= self.load_inline_upto {
            let loaded = match LocationIndex::load(db, location_id).await {
                Ok(loaded) => {
                    *slot.index.write().await = Some(loaded);
                    Ok(true)
                }
                Err(error) => Err(error),
            };
            slot.loading.store(false, AtomicOrdering::Release);
            return loaded;
        }
        tracing::info!(location_id, contacts = count, "loading the contact index");
        let (slot, db, location_id) = (slot.clone(), db.clone(), location_id.to_owned());
        tokio::spawn(async move {
            match LocationIndex::load(&db, &location_id).await {
                Ok(loaded) => {
                    *slot.index.write().await = Some(loaded);
                    tracing::info!(location_id, "contact index loaded");
                }
                Err(error) => tracing::warn!(%error, "loading the contact index failed"),
            }
            slot.loading.store(false, AtomicOrdering::Release);
        });
        Ok(false)
    }
}

/// The contacts holding each value of a member table (`contact_tags`, …).
#[derive(Debug)]
struct Members {
    table: &'static str,
    column: &'static str,
    by_value: HashMap<Box<str>, RoaringBitmap>,
}

impl Members {
    fn new(table: &'static str, column: &'static str) -> Members {
        Members {
            table,
            column,
            by_value: HashMap::new(),
        }
    }
}

/// One location's contacts, by ordinal (their place in `ids`).
#[derive(Debug, Default)]
struct LocationIndex {
    /// The lowest change `seq` not yet read for certain (see migration 0010).
    bound: i64,
    /// Changes at or past `bound` already applied (PostgreSQL reads those again until no
    /// transaction older than them runs), by contact.
    applied: HashMap<String, i64>,
    /// One allocation each, shared by the two.
    ids: Vec<Arc<str>>,
    ordinals: HashMap<Arc<str>, u32>,
    /// The ordinals of contacts that exist (a deleted contact's stays unused).
    live: RoaringBitmap,
    first_name: TextColumn,
    last_name: TextColumn,
    full_name: TextColumn,
    email: TextColumn,
    phone: TextColumn,
    assigned_to: TextColumn,
    date_of_birth: TextColumn,
    // Lower-cased, as search compares them.
    company: TextColumn,
    address: TextColumn,
    city: TextColumn,
    state: TextColumn,
    postal_code: TextColumn,
    source: TextColumn,
    country: TextColumn,
    timezone: TextColumn,
    contact_type: TextColumn,
    website: TextColumn,
    dnd: Vec<bool>,
    date_added: Vec<i64>,
    date_updated: Vec<i64>,
    members: Vec<Members>,
    /// Number custom field values by field id, NaN where a contact has none.
    numbers: HashMap<String, Vec<f64>>,
}

/// The contacts of `within` that pass `test`, which takes any ordinal below `universe`.
fn keep(
    within: &RoaringBitmap,
    universe: usize,
    mut test: impl FnMut(u32) -> bool,
) -> RoaringBitmap {
    let universe = u32::try_from(universe).unwrap_or(u32::MAX);
    // Walking a bitmap costs some 5 ns a member, testing a column's next value about 1: past
    // an eighth of the ordinals, test them all and intersect after.
    if within.len().saturating_mul(8) >= u64::from(universe) {
        ascending((0..universe).filter(|&o| test(o)).collect()) & within
    } else {
        ascending(within.iter().filter(|&o| test(o)).collect())
    }
}

/// A bitmap of ordinals that come in ascending order, each appended rather than inserted (were
/// one out of order, they are inserted one by one instead).
fn ascending(ordinals: Vec<u32>) -> RoaringBitmap {
    RoaringBitmap::from_sorted_iter(ordinals.iter().copied())
        .unwrap_or_else(|_| ordinals.into_iter().collect())
}

/// What the index keeps of a contact, read as one JSON array a contact (see [`json_array`]),
/// in the order of [`StoredContact`]'s fields.
const CONTACT_COLUMNS: &str = "first_name_lower, last_name_lower, full_name_lower, email_lower, \
    company_name, phone, assigned_to, address1, city, state, postal_code, source, country, \
    timezone, contact_type, website, date_of_birth, dnd, date_added, date_updated";

#[derive(Deserialize)]
struct StoredContact {
    first_name_lower: Option<String>,
    last_name_lower: Option<String>,
    full_name_lower: Option<String>,
    email_lower: Option<String>,
    company_name: Option<String>,
    phone: Option<String>,
    assigned_to: Option<String>,
    address1: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    source: Option<String>,
    country: Option<String>,
    timezone: Option<String>,
    contact_type: Option<String>,
    website: Option<String>,
    date_of_birth: Option<String>,
    dnd: i64,
    date_added: i64,
    date_updated: i64,
}

/// A JSON array of `items`, and a JSON array of a group's `item`: sqlx's `Any` rows cost about
/// half a microsecond a column, so many columns, or many rows, read as one text instead (a
/// location of 1,000,000 contacts loaded in 18 s column by column).
fn json_array(backend: Backend, items: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_array({items})"),
        Backend::Postgres => format!("json_build_array({items})"),
    }
}

fn json_group(backend: Backend, item: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_group_array({item})"),
        Backend::Postgres => format!("json_agg({item})"),
    }
}

/// A JSON value as the text column the reader decodes.
fn as_text(backend: Backend, json: &str) -> String {
    match backend {
        Backend::Sqlite => json.to_owned(),
        Backend::Postgres => format!("({json})::text"),
    }
}

fn corrupt(error: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

/// Where changes past `bound` are, with the next bound first (its `contact_id` empty): on
/// SQLite, one past the highest seq; on PostgreSQL, the oldest transaction still running.
fn changes_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "SELECT '' AS contact_id, COALESCE(MAX(seq), 0) + 1 AS seq FROM contact_changes \
             WHERE location_id = $1 UNION ALL SELECT contact_id, seq FROM contact_changes \
             WHERE location_id = $1 AND seq >= $2"
        }
        Backend::Postgres => {
            "SELECT '' AS contact_id, pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS seq \
             UNION ALL SELECT contact_id, seq FROM contact_changes \
             WHERE location_id = $1 AND seq >= $2"
        }
    }
}

/// The next bound, and the changes at or past `bound`.
async fn changes(
    db: &Db,
    location_id: &str,
    bound: i64,
) -> Result<(i64, Vec<(String, i64)>), sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(changes_sql(db.backend))
        .bind(location_id)
        .bind(bound)
        .fetch_all(db.read())
        .await?;
    let mut next = bound;
    let mut changed = Vec::with_capacity(rows.len().saturating_sub(1));
    for (contact_id, seq) in rows {
        if contact_id.is_empty() {
            next = seq;
        } else {
            changed.push((contact_id, seq));
        }
    }
    Ok((next, changed))
}

impl LocationIndex {
    /// The whole location, read after the bound so that a change made meanwhile is read again.
    async fn load(db: &Db, location_id: &str) -> Result<LocationIndex, sqlx::Error> {
        let (bound, _) = changes(db, location_id, i64::MAX).await?;
        let mut index = LocationIndex {
            bound,
            members: vec![
                Members::new("contact_tags", "tag"),
                Members::new("contact_followers", "user_id"),
                Members::new("contact_workflows", "workflow_id"),
            ],
            ..LocationIndex::default()
        };
        index.load_contacts(db, location_id, None).await?;
        Ok(index)
    }

    /// Reloads the contacts changed since the last search; `false` when so many changed that
    /// the caller had better load the location again.
    async fn catch_up(&mut self, db: &Db, location_id: &str) -> Result<bool, sqlx::Error> {
        let (next, changes) = changes(db, location_id, self.bound).await?;
        let changed: Vec<(String, i64)> = changes
            .into_iter()
            .filter(|(id, seq)| self.applied.get(id) != Some(seq))
            .collect();
        if changed.len() > RELOAD_ALL_AFTER && changed.len() > self.live.len() as usize / 4 {
            return Ok(false);
        }
        for batch in changed.chunks(BATCH) {
            let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
            self.reload(db, location_id, &ids).await?;
        }
        self.bound = next;
        self.applied.retain(|_, seq| *seq >= next);
        self.applied
            .extend(changed.into_iter().filter(|(_, seq)| *seq >= next));
        Ok(true)
    }

    /// Forgets `ids` and reads again those that still exist.
    async fn reload(
        &mut self,
        db: &Db,
        location_id: &str,
        ids: &[String],
    ) -> Result<(), sqlx::Error> {
        let known: RoaringBitmap = ids
            .iter()
            .filter_map(|id| self.ordinals.get(id.as_str()).copied())
            .collect();
        for members in &mut self.members {
            members.by_value.retain(|_, holders| {
                *holders -= &known;
                !holders.is_empty()
            });
        }
        for ordinal in &known {
            self.live.remove(ordinal);
            for column in self.numbers.values_mut() {
                column[ordinal as usize] = f64::NAN;
            }
        }
        self.load_contacts(db, location_id, Some(ids)).await
    }

    /// Reads the contacts of the location, or `ids` of them, with their member rows and number
    /// values.
    async fn load_contacts(
        &mut self,
        db: &Db,
        location_id: &str,
        ids: Option<&[String]>,
    ) -> Result<(), sqlx::Error> {
        let (backend, pool) = (db.backend, db.read());
        let scoped = |select: String, id_column: &str, group: Option<&str>| {
            let mut sql = SqlBuilder::new(&select);
            sql.bind_text(location_id);
            if let Some(ids) = ids {
                sql.push(&format!(" AND {id_column} IN ("));
                bind_list(&mut sql, ids);
                sql.push(")");
            }
            if let Some(group) = group {
                sql.push(&format!(" GROUP BY {group}"));
            }
            sql
        };
        let values = as_text(backend, &json_array(backend, CONTACT_COLUMNS));
        let sql = scoped(
            format!("SELECT id, {values} FROM contacts WHERE location_id = "),
            "id",
            None,
        );
        let mut rows = sql.query().fetch(pool);
        while let Some(row) = rows.try_next().await? {
            let values: StoredContact = serde_json::from_str(row.try_get(1)?).map_err(corrupt)?;
            self.put_contact(row.try_get(0)?, values)?;
        }
        drop(rows);
        let holders = as_text(backend, &json_group(backend, "contact_id"));
        for m in 0..self.members.len() {
            let (table, column) = (self.members[m].table, self.members[m].column);
            let sql = scoped(
                format!("SELECT {column}, {holders} FROM {table} WHERE location_id = "),
                "contact_id",
                Some(column),
            );
            let mut rows = sql.query().fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let value: &str = row.try_get(0)?;
                let contacts: Vec<String> =
                    serde_json::from_str(row.try_get(1)?).map_err(corrupt)?;
                let ordinals = contacts
                    .iter()
                    .filter_map(|id| self.ordinals.get(id.as_str()));
                let by_value = &mut self.members[m].by_value;
                match by_value.get_mut(value) {
                    Some(holders) => holders.extend(ordinals),
                    None => {
                        by_value.insert(value.into(), ordinals.copied().collect());
                    }
                }
            }
        }
        let pairs = as_text(
            backend,
            &json_group(backend, &json_array(backend, "contact_id, number")),
        );
        let sql = scoped(
            format!("SELECT field_id, {pairs} FROM contact_field_values WHERE location_id = "),
            "contact_id",
            Some("field_id"),
        );
        let len = self.ids.len();
        for row in sql.query().fetch_all(pool).await? {
            let field_id: String = row.try_get(0)?;
            let pairs: Vec<(String, f64)> =
                serde_json::from_str(row.try_get(1)?).map_err(corrupt)?;
            let column = self
                .numbers
                .entry(field_id)
                .or_insert_with(|| vec![f64::NAN; len]);
            column.resize(len, f64::NAN);
            for (contact_id, number) in pairs {
                if let Some(&ordinal) = self.ordinals.get(contact_id.as_str()) {
                    column[ordinal as usize] = number;
                }
            }
        }
        Ok(())
    }

    /// Writes a contact into the columns, under a new ordinal if need be.
    fn put_contact(&mut self, id: &str, values: StoredContact) -> Result<(), sqlx::Error> {
        let ordinal = match self.ordinals.get(id) {
            Some(&ordinal) => ordinal,
            None => {
                let ordinal = u32::try_from(self.ids.len())
                    .map_err(|_| sqlx::Error::Protocol("over 4 billion contacts".into()))?;
                let id: Arc<str> = id.into();
                self.ids.push(id.clone());
                self.ordinals.insert(id, ordinal);
                self.dnd.push(false);
                self.date_added.push(0);
                self.date_updated.push(0);
                for column in self.numbers.values_mut() {
                    column.push(f64::NAN);
                }
                ordinal
            }
        };
        let c = values;
        let lower = |value: Option<String>| value.map(|v| v.to_lowercase());
        self.first_name.set(ordinal, c.first_name_lower.as_deref());
        self.last_name.set(ordinal, c.last_name_lower.as_deref());
        self.full_name.set(ordinal, c.full_name_lower.as_deref());
        self.email.set(ordinal, c.email_lower.as_deref());
        self.phone.set(ordinal, c.phone.as_deref());
        self.assigned_to.set(ordinal, c.assigned_to.as_deref());
        self.date_of_birth.set(ordinal, c.date_of_birth.as_deref());
        for (column, value) in [
            (&mut self.company, c.company_name),
            (&mut self.address, c.address1),
            (&mut self.city, c.city),
            (&mut self.state, c.state),
            (&mut self.postal_code, c.postal_code),
            (&mut self.source, c.source),
            (&mut self.country, c.country),
            (&mut self.timezone, c.timezone),
            (&mut self.contact_type, c.contact_type),
            (&mut self.website, c.website),
        ] {
            column.set(ordinal, lower(value).as_deref());
        }
        let index = ordinal as usize;
        self.dnd[index] = c.dnd != 0;
        self.date_added[index] = c.date_added;
        self.date_updated[index] = c.date_updated;
        self.live.insert(ordinal);
        Ok(())
    }
}
