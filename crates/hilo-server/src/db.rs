//! The database: one code path for SQLite and PostgreSQL through sqlx's `Any` driver, with
//! portable SQL (`$1` placeholders, TEXT ids, BIGINT epoch-millisecond timestamps).
//!
//! SQLite allows one writer at a time, and a deferred transaction that reads before it writes
//! can fail with `SQLITE_BUSY` instead of waiting. So on SQLite, writes go through a pool of one
//! connection while reads use a pool of several; on PostgreSQL both are the same pool.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or an error that says which schemes hilo knows.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!(
                "unknown database URL {url:?}: use sqlite://FILE or postgres://USER@HOST/DB"
            )
        }
    }

    /// The engine behind a connection.
    pub fn of(connection: &sqlx::AnyConnection) -> Self {
        if connection.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// Holds other transactions' writes to `table` until `tx` ends, so that a check of the table
/// and the writes that depend on it cannot interleave with another process doing the same.
pub async fn lock_table(tx: &mut sqlx::AnyConnection, table: &'static str) -> sqlx::Result<()> {
    let sql = match Backend::of(tx) {
        // Conflicts with itself and with every insert, update and delete; reads go on.
        Backend::Postgres => format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"),
        // Any write statement takes SQLite's one write lock, also one that changes nothing.
        Backend::Sqlite => format!("UPDATE {table} SET id = id WHERE 0 = 1"),
    };
    sqlx::query(&sql).execute(&mut *tx).await.map(drop)
}

#[derive(Debug, Clone)]
pub struct Db {
    pub backend: Backend,
    read: AnyPool,
    write: AnyPool,
}

impl Db {
    /// Connects (creating the SQLite file if missing) and runs the embedded migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let db = match backend {
            Backend::Sqlite => {
                let url = sqlite_url_creating_file(url);
                let write = sqlite_pool(&url, 1).await?;
                // Migrate before the readers open so they see the final schema.
                SQLITE_MIGRATIONS
                    .run(&write)
                    .await
                    .context("running SQLite migrations")?;
                let read = sqlite_pool(&url, 4).await?;
                Db {
                    backend,
                    read,
                    write,
                }
            }
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(url)?
                    .log_statements(tracing::log::LevelFilter::Trace);
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .with_context(|| format!("connecting to {}", redact_url(url)))?;
                POSTGRES_MIGRATIONS
                    .run(&pool)
                    .await
                    .context("running PostgreSQL migrations")?;
                Db {
                    backend,
                    read: pool.clone(),
                    write: pool,
                }
            }
        };
        Ok(db)
    }

    /// The pool for queries that only read.
    pub fn read(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for writes and for transactions.
    pub fn write(&self) -> &AnyPool {
        &self.write
    }

    /// Refreshes the statistics the query planners choose indexes by. Without them SQLite
    /// guesses that a location's contacts are few and scans them all where a tag's index
    /// would read a fraction; a full `ANALYZE` takes about two seconds a million contacts.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        sqlx::query("ANALYZE").execute(&self.write).await.map(drop)
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

async fn sqlite_pool(url: &str, max: u32) -> anyhow::Result<AnyPool> {
    let options =
        AnyConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // Searches visit many rows at random: reading the file through a memory map
                // and a larger page cache spare a system call and a copy per page.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                     PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                     PRAGMA mmap_size = 2147418112; PRAGMA cache_size = -65536;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .with_context(|| format!("opening {url}"))
}

/// `sqlite://hilo.db` should create the file on first use, as a new user expects.
fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// A URL fit for logs: any password replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_comes_from_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://u@h/db").is_err());
    }

    #[test]
    fn sqlite_file_is_created_unless_a_mode_is_given() {
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}

/// A boolean column, stored as BIGINT 0/1 on both engines (sqlx's Any driver cannot decode
/// SQLite booleans).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

/// `sqlx::Type` for a newtype kept in a BIGINT column.
macro_rules! bigint_column {
    ($ty:ty) => {
        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <i64 as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }
    };
}
pub(crate) use bigint_column;

bigint_column!(Flag);

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Flag(
            <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value)? != 0,
        ))
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Any> for Flag {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<'q, sqlx::Any>>::encode(i64::from(self.0), buf)
    }
}
