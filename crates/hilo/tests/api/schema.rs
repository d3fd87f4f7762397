//! The SQLite and PostgreSQL migrations must build the same schema: same tables, columns (in
//! order), types, nullability and indexes; the free-text indexes (`contacts_text…`: FTS5 on
//! SQLite, pg_trgm on PostgreSQL) are each engine's own.

use crate::harness::{Backend, TestServer};

type Column = (String, String, String, bool);

async fn sqlite_schema(s: &TestServer) -> (Vec<Column>, Vec<String>) {
    let columns: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT m.name, p.name, lower(p.type), p.\"notnull\" FROM sqlite_master m \
         JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE '\\_sqlx%' ESCAPE '\\' \
         AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name NOT LIKE 'contacts\\_text%' ESCAPE '\\' \
         ORDER BY m.name, p.cid",
    )
    .fetch_all(s.db.read())
    .await
    .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite\\_autoindex%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(s.db.read())
    .await
    .unwrap();
    (
        columns
            .into_iter()
            .map(|(t, c, ty, nn)| (t, c, ty, nn != 0))
            .collect(),
        indexes,
    )
}

async fn postgres_schema(s: &TestServer) -> (Vec<Column>, Vec<String>) {
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(s.db.read())
    .await
    .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' \
         AND indexname NOT LIKE 'contacts\\_text%' ORDER BY indexname",
    )
    .fetch_all(s.db.read())
    .await
    .unwrap();
    (
        columns
            .into_iter()
            .map(|(t, c, ty, nullable)| (t, c, ty, nullable == "NO"))
            .collect(),
        indexes,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let sqlite = TestServer::start(Backend::Sqlite).await.unwrap();
    let Some(postgres) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    let (lite_columns, lite_indexes) = sqlite_schema(&sqlite).await;
    let (pg_columns, pg_indexes) = postgres_schema(&postgres).await;
    assert!(
        lite_columns.len() > 50 && lite_indexes.len() > 5,
        "the introspection found the schema"
    );
    // SQLite primary keys report NOT NULL only when declared; PostgreSQL always does.
    let normalise = |columns: Vec<Column>| -> Vec<(String, String, String)> {
        columns
            .into_iter()
            .map(|(t, c, ty, _)| (t, c, ty))
            .collect()
    };
    assert_eq!(
        normalise(lite_columns.clone()),
        normalise(pg_columns.clone())
    );
    let not_null = |columns: &[Column]| -> Vec<(String, String)> {
        columns
            .iter()
            .filter(|c| c.3)
            .map(|c| (c.0.clone(), c.1.clone()))
            .collect()
    };
    for column in not_null(&lite_columns) {
        assert!(
            not_null(&pg_columns).contains(&column),
            "{column:?} is NOT NULL on SQLite only"
        );
    }
    assert_eq!(lite_indexes, pg_indexes);
}
