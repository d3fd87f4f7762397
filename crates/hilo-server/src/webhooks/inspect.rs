//! Deliveries for people: list and look at them, send one again, pause an app. The admin API
//! (`/hilo/admin/webhooks/…`) and `hilo admin webhooks …` both use these.

use serde::{Serialize, Serializer};

use crate::db::Db;
use crate::sql::SqlBuilder;

/// The statuses a delivery can have.
pub const STATUSES: [&str; 5] = ["pending", "sending", "delivered", "failed", "skipped"];

fn iso<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::format_ms(*ms))
}

fn iso_opt<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => iso(ms, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The `webhookId` the receiver sees.
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub app_id: String,
    pub company_id: String,
    pub location_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "iso")]
    pub created_at: i64,
    #[serde(serialize_with = "iso")]
    pub next_attempt_at: i64,
    #[serde(serialize_with = "iso_opt")]
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub attempt: i64,
    pub dispatcher: String,
    #[serde(serialize_with = "iso")]
    pub started_at: i64,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
}

/// One delivery with its event's payload and every attempt.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub payload: serde_json::Value,
    pub attempt_log: Vec<Attempt>,
}

/// Which deliveries to list; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// An app id or client id.
    pub app: Option<String>,
    pub status: Option<String>,
    pub location_id: Option<String>,
    pub event_type: Option<String>,
    pub limit: i64,
}

const COLUMNS: &str = "d.id, d.event_id, e.event_type, d.app_id, d.company_id, d.location_id, \
     d.status, d.attempts, d.last_status, d.last_error, d.created_at, d.next_attempt_at, \
     d.delivered_at";

/// The newest deliveries that match.
pub async fn list(db: &Db, filter: &Filter) -> anyhow::Result<Vec<Delivery>> {
    if let Some(status) = &filter.status {
        if !STATUSES.contains(&status.as_str()) {
            anyhow::bail!("status must be one of {}", STATUSES.join(", "));
        }
    }
    let mut sql = SqlBuilder::new(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
         WHERE 1 = 1"
    ));
    if let Some(app) = &filter.app {
        sql.push(" AND d.app_id IN (SELECT id FROM apps WHERE id = ")
            .bind_text(app.clone())
            .push(" OR client_id = ")
            .bind_text(app.clone())
            .push(")");
    }
    if let Some(status) = &filter.status {
        sql.push(" AND d.status = ").bind_text(status.clone());
    }
    if let Some(location_id) = &filter.location_id {
        sql.push(" AND d.location_id = ")
            .bind_text(location_id.clone());
    }
    if let Some(event_type) = &filter.event_type {
        sql.push(" AND e.event_type = ")
            .bind_text(event_type.clone());
    }
    sql.push(" ORDER BY d.created_at DESC, d.id DESC LIMIT ")
        .bind_int(filter.limit.clamp(1, 10_000));
    Ok(sql.query_as().fetch_all(db.read()).await?)
}

/// One delivery, with its payload and attempts.
pub async fn detail(db: &Db, id: &str) -> anyhow::Result<Option<DeliveryDetail>> {
    let delivery: Option<Delivery> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
         WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?;
    let Some(delivery) = delivery else {
        return Ok(None);
    };
    let payload: String = sqlx::query_scalar("SELECT payload FROM webhook_events WHERE id = $1")
        .bind(&delivery.event_id)
        .fetch_one(db.read())
        .await?;
    let attempt_log = sqlx::query_as(
        "SELECT attempt, dispatcher, started_at, latency_ms, status_code, error, \
         response_snippet FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(db.read())
    .await?;
    Ok(Some(DeliveryDetail {
        delivery,
        payload: serde_json::from_str(&payload)?,
        attempt_log,
    }))
}

/// Queues a delivery again, due at `now` (its `webhookId` stays, so receivers that already
/// have it can tell). One being sent right now is refused.
/// What asking for a delivery again did.
#[derive(Debug)]
pub enum Redelivery {
    Queued(Box<Delivery>),
    /// An attempt is in flight; asking again after it ends works.
    Sending,
    Missing,
}

pub async fn redeliver(db: &Db, id: &str, now: i64) -> anyhow::Result<Redelivery> {
    let queued = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, queued_at = $1, \
         last_error = NULL WHERE id = $2 AND status <> 'sending'",
    )
    .bind(now)
    .bind(id)
    .execute(db.write())
    .await?;
    let found = detail(db, id).await?;
    Ok(match found {
        Some(found) if queued.rows_affected() == 1 => Redelivery::Queued(Box::new(found.delivery)),
        Some(_) => Redelivery::Sending,
        None => Redelivery::Missing,
    })
}

/// Pauses (or resumes) an app's deliveries; false when no such app.
pub async fn set_paused(db: &Db, app: &str, paused: bool, now: i64) -> anyhow::Result<bool> {
    let changed = sqlx::query(
        "UPDATE apps SET webhooks_paused_at = $1 WHERE (id = $2 OR client_id = $2) \
         AND deleted_at IS NULL",
    )
    .bind(paused.then_some(now))
    .bind(app)
    .execute(db.write())
    .await?;
    Ok(changed.rows_affected() > 0)
}
