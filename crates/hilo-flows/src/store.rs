//! The runner's state: cursors, runs with their steps' answers, and the webhook inbox. A
//! SQLite file by default, or PostgreSQL, by the same URLs as the server.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Row};

use crate::poll::Cursor;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS flow_cursors (
        flow TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS flow_runs (
        id TEXT PRIMARY KEY,
        flow TEXT NOT NULL,
        item_key TEXT NOT NULL,
        item TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        started_at BIGINT NOT NULL,
        finished_at BIGINT,
        UNIQUE (flow, item_key))",
    "CREATE INDEX IF NOT EXISTS flow_runs_by_flow ON flow_runs (flow, started_at)",
    "CREATE TABLE IF NOT EXISTS flow_steps (
        run_id TEXT NOT NULL REFERENCES flow_runs (id),
        step TEXT NOT NULL,
        position BIGINT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        output TEXT,
        error TEXT,
        finished_at BIGINT NOT NULL,
        PRIMARY KEY (run_id, step))",
    "CREATE TABLE IF NOT EXISTS flow_inbox (
        id TEXT PRIMARY KEY,
        flow TEXT NOT NULL,
        dedupe TEXT,
        body TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        done BIGINT NOT NULL DEFAULT 0,
        UNIQUE (flow, dedupe))",
];

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

/// A run's state when its item comes up.
pub enum OpenRun {
    /// Already finished (a repeat after a restart): nothing to do.
    Finished,
    /// New, or cut short: the answers of the steps already done.
    Pending {
        id: String,
        done: Map<String, Value>,
    },
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Done,
    /// A filter step stopped it.
    Filtered,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Done => "done",
            RunStatus::Filtered => "filtered",
            RunStatus::Failed => "failed",
        }
    }
}

/// What a finished run moves forward with it, in the same transaction.
pub enum Advance<'a> {
    Cursor { flow: &'a str, cursor: &'a Cursor },
    Inbox { id: &'a str },
}

pub struct StepRecord<'a> {
    pub step: &'a str,
    pub position: usize,
    pub status: &'a str,
    pub attempts: u32,
    pub output: Option<&'a Value>,
    pub error: Option<&'a str>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRecord {
    pub id: String,
    pub flow: String,
    pub item_key: String,
    pub status: String,
    pub error: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StepLog {
    pub step: String,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// `sqlite://FILE` (created when missing) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_owned()
        };
        let options =
            AnyConnectOptions::from_str(&url)?.log_statements(tracing::log::LevelFilter::Trace);
        // SQLite takes one writer: one connection, so the runner's tasks queue rather than fail.
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 4 })
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .context("opening the flows database")?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Store { pool })
    }

    pub async fn cursor(&self, flow: &str) -> anyhow::Result<Cursor> {
        let row = sqlx::query("SELECT state FROM flow_cursors WHERE flow = $1")
            .bind(flow)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(serde_json::from_str(&row.try_get::<String, _>(0)?)?),
            None => Ok(Cursor::default()),
        }
    }

    pub async fn save_cursor(&self, flow: &str, cursor: &Cursor) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        save_cursor(&mut conn, flow, cursor).await
    }

    /// The run of `key`, made if new.
    pub async fn open_run(&self, flow: &str, key: &str, item: &Value) -> anyhow::Result<OpenRun> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO flow_runs (id, flow, item_key, item, status, started_at)
             VALUES ($1, $2, $3, $4, 'running', $5) ON CONFLICT (flow, item_key) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(flow)
        .bind(key)
        .bind(item.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT id, status FROM flow_runs WHERE flow = $1 AND item_key = $2")
            .bind(flow)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        let id: String = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        if status != "running" {
            tx.commit().await?;
            return Ok(OpenRun::Finished);
        }
        let rows = sqlx::query(
            "SELECT step, output FROM flow_steps WHERE run_id = $1 AND status = 'done'",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut done = Map::new();
        for row in rows {
            let output: Option<String> = row.try_get(1)?;
            let output = output.map(|o| serde_json::from_str(&o)).transpose()?;
            done.insert(row.try_get(0)?, output.unwrap_or(Value::Null));
        }
        Ok(OpenRun::Pending { id, done })
    }

    pub async fn record_step(&self, run_id: &str, record: &StepRecord<'_>) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO flow_steps (run_id, step, position, status, attempts, output, error, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (run_id, step) DO UPDATE SET status = excluded.status,
               attempts = flow_steps.attempts + excluded.attempts, output = excluded.output,
               error = excluded.error, finished_at = excluded.finished_at",
        )
        .bind(run_id)
        .bind(record.step)
        .bind(record.position as i64)
        .bind(record.status)
        .bind(i64::from(record.attempts))
        .bind(record.output.map(Value::to_string))
        .bind(record.error)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a run and moves its cursor or inbox past it, together.
    pub async fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
        advance: Advance<'_>,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE flow_runs SET status = $1, error = $2, finished_at = $3 WHERE id = $4")
            .bind(status.as_str())
            .bind(error)
            .bind(now_ms())
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        match advance {
            Advance::Cursor { flow, cursor } => save_cursor(&mut tx, flow, cursor).await?,
            Advance::Inbox { id } => {
                sqlx::query("UPDATE flow_inbox SET done = 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Keeps a webhook body for its flow; false when `dedupe` was seen already.
    pub async fn enqueue(
        &self,
        flow: &str,
        dedupe: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO flow_inbox (id, flow, dedupe, body, received_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (flow, dedupe) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(flow)
        .bind(dedupe)
        .bind(body.to_string())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Bodies not yet handled, oldest first.
    pub async fn inbox(&self, flow: &str) -> anyhow::Result<Vec<(String, Value)>> {
        let rows = sqlx::query(
            "SELECT id, body FROM flow_inbox WHERE flow = $1 AND done = 0 ORDER BY received_at, id LIMIT 100",
        )
        .bind(flow)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let body: String = row.try_get(1)?;
                Ok((row.try_get(0)?, serde_json::from_str(&body)?))
            })
            .collect()
    }

    /// Runs, newest first.
    pub async fn history(&self, flow: Option<&str>, limit: i64) -> anyhow::Result<Vec<RunRecord>> {
        let rows = sqlx::query(
            "SELECT id, flow, item_key, status, error, started_at, finished_at FROM flow_runs
             WHERE ($1 = '' OR flow = $1) ORDER BY started_at DESC, id LIMIT $2",
        )
        .bind(flow.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(RunRecord {
                    id: row.try_get(0)?,
                    flow: row.try_get(1)?,
                    item_key: row.try_get(2)?,
                    status: row.try_get(3)?,
                    error: row.try_get(4)?,
                    started_at: row.try_get(5)?,
                    finished_at: row.try_get(6)?,
                })
            })
            .collect()
    }

    pub async fn steps(&self, run_id: &str) -> anyhow::Result<Vec<StepLog>> {
        let rows = sqlx::query(
            "SELECT step, status, attempts, error FROM flow_steps WHERE run_id = $1 ORDER BY position",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(StepLog {
                    step: row.try_get(0)?,
                    status: row.try_get(1)?,
                    attempts: row.try_get(2)?,
                    error: row.try_get(3)?,
                })
            })
            .collect()
    }
}

async fn save_cursor(
    conn: &mut sqlx::AnyConnection,
    flow: &str,
    cursor: &Cursor,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO flow_cursors (flow, state, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (flow) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(flow)
    .bind(serde_json::to_string(cursor)?)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
