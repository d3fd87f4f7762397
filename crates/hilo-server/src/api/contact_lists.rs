//! Ordered lists of values kept as rows under a contact (its tags, its followers): reading one
//! contact's or many contacts' at once, and adding and removing item by item, row by row, so
//! that concurrent requests on the same contact cannot lose each other's changes on either
//! engine. Each item keeps the position it was first added at.

use std::collections::HashMap;

use sqlx::{AnyConnection, AnyPool};

use super::contacts::touch;
use crate::db::Backend;
use crate::sql::{bind_list, SqlBuilder};

/// Where one kind of list is stored: a table keyed by `(contact_id, column)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContactList {
    table: &'static str,
    column: &'static str,
}

pub(crate) const TAGS: ContactList = ContactList {
    table: "contact_tags",
    column: "tag",
};

pub(crate) const FOLLOWERS: ContactList = ContactList {
    table: "contact_followers",
    column: "user_id",
};

/// What adding or removing did: the whole list after it, and the items it changed.
pub(crate) struct Changed {
    pub all: Vec<String>,
    pub changed: Vec<String>,
}

impl ContactList {
    /// One contact's items, in the order they were added.
    pub(crate) async fn load<'e, E>(
        self,
        executor: E,
        location_id: &str,
        contact_id: &str,
    ) -> Result<Vec<String>, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        sqlx::query_scalar(&format!(
            "SELECT {} FROM {} WHERE location_id = $1 AND contact_id = $2 ORDER BY position",
            self.column, self.table
        ))
        .bind(location_id)
        .bind(contact_id)
        .fetch_all(executor)
        .await
    }

    /// Many contacts' items at once, keyed by contact id.
    pub(crate) async fn load_for(
        self,
        pool: &AnyPool,
        location_id: &str,
        contact_ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>, sqlx::Error> {
        if contact_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = SqlBuilder::new(&format!(
            "SELECT contact_id, {} FROM {} WHERE location_id = ",
            self.column, self.table
        ));
        sql.bind_text(location_id).push(" AND contact_id IN (");
        bind_list(&mut sql, contact_ids);
        sql.push(") ORDER BY contact_id, position");
        let rows: Vec<(String, String)> = sql.query_as().fetch_all(pool).await?;
        Ok(group(rows))
    }

    /// Every contact's items in a location, keyed by contact id (a fixtures dump).
    pub(crate) async fn load_location<'e, E>(
        self,
        executor: E,
        location_id: &str,
    ) -> Result<HashMap<String, Vec<String>>, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT contact_id, {} FROM {} WHERE location_id = $1 ORDER BY contact_id, position",
            self.column, self.table
        ))
        .bind(location_id)
        .fetch_all(executor)
        .await?;
        Ok(group(rows))
    }

    /// Adds the items of many new contacts (which have none yet), a few thousand rows a
    /// statement.
    pub(crate) async fn insert_new(
        self,
        tx: &mut AnyConnection,
        location_id: &str,
        contacts: &[(&str, &[String])],
    ) -> Result<(), sqlx::Error> {
        // Four parameters a row keeps a statement well within both engines' limits.
        const ROWS: usize = 2_000;
        let rows: Vec<(&str, i64, &String)> = contacts
            .iter()
            .flat_map(|(contact_id, items)| {
                (0_i64..)
                    .zip(items.iter())
                    .map(|(p, t)| (*contact_id, p, t))
            })
            .collect();
        for chunk in rows.chunks(ROWS) {
            let mut sql = SqlBuilder::for_backend(
                Backend::of(tx),
                &format!(
                    "INSERT INTO {} (location_id, contact_id, {}, position) VALUES ",
                    self.table, self.column
                ),
            );
            for (i, (contact_id, position, item)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" })
                    .bind_text(location_id)
                    .push(", ")
                    .bind_text(*contact_id)
                    .push(", ")
                    .bind_text(item.as_str())
                    .push(", ")
                    .bind_int(*position)
                    .push(")");
            }
            sql.query().execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// Adds the `items` the contact does not have yet, at the end; marks the contact changed
    /// when any was added.
    pub(crate) async fn add(
        self,
        tx: &mut AnyConnection,
        location_id: &str,
        contact_id: &str,
        items: Vec<String>,
    ) -> Result<Changed, sqlx::Error> {
        let insert = format!(
            "INSERT INTO {table} (location_id, contact_id, {column}, position) \
             SELECT $1, $2, $3, COALESCE(MAX(position), -1) + 1 FROM {table} \
             WHERE location_id = $1 AND contact_id = $2 \
             ON CONFLICT (contact_id, {column}) DO NOTHING",
            table = self.table,
            column = self.column
        );
        let mut added = Vec::new();
        for item in items {
            let inserted = sqlx::query(&insert)
                .bind(location_id)
                .bind(contact_id)
                .bind(&item)
                .execute(&mut *tx)
                .await?;
            if inserted.rows_affected() > 0 {
                added.push(item);
            }
        }
        self.finish(tx, location_id, contact_id, added).await
    }

    /// Removes the `items` the contact has; marks the contact changed when any was removed.
    pub(crate) async fn remove(
        self,
        tx: &mut AnyConnection,
        location_id: &str,
        contact_id: &str,
        items: Vec<String>,
    ) -> Result<Changed, sqlx::Error> {
        let delete = format!(
            "DELETE FROM {} WHERE location_id = $1 AND contact_id = $2 AND {} = $3",
            self.table, self.column
        );
        let mut removed = Vec::new();
        for item in items {
            let deleted = sqlx::query(&delete)
                .bind(location_id)
                .bind(contact_id)
                .bind(&item)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() > 0 {
                removed.push(item);
            }
        }
        self.finish(tx, location_id, contact_id, removed).await
    }

    async fn finish(
        self,
        tx: &mut AnyConnection,
        location_id: &str,
        contact_id: &str,
        changed: Vec<String>,
    ) -> Result<Changed, sqlx::Error> {
        if !changed.is_empty() {
            touch(tx, location_id, contact_id).await?;
        }
        let all = self.load(&mut *tx, location_id, contact_id).await?;
        Ok(Changed { all, changed })
    }
}

/// `(contact id, item)` rows, in order, as each contact's list.
fn group(rows: Vec<(String, String)>) -> HashMap<String, Vec<String>> {
    let mut lists: HashMap<String, Vec<String>> = HashMap::new();
    for (contact_id, item) in rows {
        lists.entry(contact_id).or_default().push(item);
    }
    lists
}
