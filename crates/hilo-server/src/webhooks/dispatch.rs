//! The dispatcher: a background task per server process. It claims due deliveries, signs and
//! POSTs each, records the attempt, and schedules a retry or gives up ([`super::retry`]).
//!
//! Claiming is one statement that moves deliveries from `pending` to `sending` under a lease
//! naming this dispatcher. On PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, and the
//! outer `WHERE` re-checks their state, so several processes on one database never claim the
//! same attempt; SQLite runs one writer at a time, which serialises claims the same way. A
//! delivery whose dispatcher died (a crash, `kill -9`) is claimed again once its lease is over:
//! at least once, never lost.
//!
//! Retry times follow the server clock (a sandbox that advances it fires retries early);
//! leases follow real time, which every process shares.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::events::EventKind;
use super::signing::{ED25519_HEADER, RSA_HEADER};
use super::target;
use crate::db::Backend;
use crate::ids::new_id;
use crate::sql::{bind_list, SqlBuilder};
use crate::state::AppState;
use crate::time::format_ms;

/// How much of a receiver's answer is kept with the attempt.
const SNIPPET_BYTES: usize = 512;

/// The running dispatcher of this process.
#[derive(Debug)]
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Dispatcher {
    /// Starts delivering what `state`'s database holds. Dropping the handle stops it too,
    /// without waiting. Fails only when the HTTP client cannot be built (its TLS backend).
    pub fn start(state: AppState) -> anyhow::Result<Dispatcher> {
        let (stop, stopped) = watch::channel(false);
        let settings = state.webhooks.settings();
        let worker = Worker {
            id: format!("dispatcher-{}", new_id()),
            client: target::client(settings.timeout, settings.block_private)
                .context("building the webhook HTTP client")?,
            state,
        };
        let task = tokio::spawn(Arc::new(worker).run(stopped));
        Ok(Dispatcher { stop, task })
    }

    /// Stops claiming, lets the attempts in flight finish (each within the timeout) and be
    /// recorded, then returns. What is still due waits in the outbox for the next start.
    pub async fn shutdown(self) {
        self.stop.send(true).ok();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the webhook dispatcher panicked");
        }
    }
}

struct Worker {
    /// Names this process's claims.
    id: String,
    client: reqwest::Client,
    state: AppState,
}

/// A claimed delivery with what sending it needs.
#[derive(sqlx::FromRow)]
struct Job {
    id: String,
    attempts: i64,
    queued_at: i64,
    event_type: String,
    payload: String,
    company_id: String,
    location_id: Option<String>,
    app_id: String,
    webhook_url: Option<String>,
}

impl Job {
    /// What the event is about: the contact, note, task or location it names (`id`), or for
    /// the app events the installation's location or agency.
    fn resource(&self) -> String {
        let payload: Map<String, Value> = serde_json::from_str(&self.payload).unwrap_or_default();
        ["id", "locationId", "companyId"]
            .iter()
            .find_map(|key| payload.get(*key).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned()
    }
}

/// What came of one attempt.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
    snippet: Option<String>,
}

impl Worker {
    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        tracing::info!(dispatcher = %self.id, "webhook dispatcher started");
        while !*stopped.borrow() {
            let claimed = match self.claim().await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    changed = stopped.changed() => if changed.is_err() { break },
                    () = self.state.webhooks.woken() => {},
                    () = tokio::time::sleep(self.state.webhooks.settings().poll) => {},
                }
                continue;
            }
            let jobs = match self.load(&claimed).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    // Their leases run out and they are claimed again.
                    tracing::warn!(error = %e, "loading claimed webhook deliveries failed");
                    continue;
                }
            };
            // The events of one resource for one app go one after another, oldest first, so
            // the receiver sees them in order (retries aside); the rest go side by side.
            let mut queues: Vec<((String, String), Vec<Job>)> = Vec::new();
            for job in jobs {
                let key = (job.app_id.clone(), job.resource());
                match queues.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, queue)) => queue.push(job),
                    None => queues.push((key, vec![job])),
                }
            }
            let mut in_flight = JoinSet::new();
            for (_, queue) in queues {
                let worker = Arc::clone(&self);
                in_flight.spawn(async move {
                    for job in queue {
                        if let Err(e) = worker.deliver(&job).await {
                            tracing::warn!(delivery = %job.id, error = %e, "webhook delivery failed");
                        }
                    }
                });
            }
            while in_flight.join_next().await.is_some() {}
        }
        tracing::info!(dispatcher = %self.id, "webhook dispatcher stopped");
    }

    /// Claims up to `concurrency` due deliveries (new, retries, and those whose dispatcher's
    /// lease ran out); their ids.
    async fn claim(&self) -> Result<Vec<String>, sqlx::Error> {
        let settings = self.state.webhooks.settings();
        let real_now = Utc::now().timestamp_millis();
        // Long enough for an attempt and its recording, so a slow one is not claimed twice.
        let lease_ms = i64::try_from(settings.timeout.as_millis() * 2).unwrap_or(i64::MAX) + 10_000;
        let lock = match self.state.db.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let due = "((status = 'pending' AND next_attempt_at <= $3) \
                   OR (status = 'sending' AND lease_until <= $4))";
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'sending', claimed_by = $1, lease_until = $2, \
             attempts = attempts + 1 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d WHERE {due} \
             AND NOT EXISTS (SELECT 1 FROM apps a WHERE a.id = d.app_id \
             AND a.webhooks_paused_at IS NOT NULL) \
             ORDER BY d.next_attempt_at, d.created_at, d.id LIMIT $5{lock}) AND {due} RETURNING id"
        );
        sqlx::query_scalar(&sql)
            .bind(&self.id)
            .bind(real_now + lease_ms)
            .bind(self.state.clock.now_ms())
            .bind(real_now)
            .bind(i64::try_from(settings.concurrency).unwrap_or(16))
            .fetch_all(self.state.db.write())
            .await
    }

    /// The claimed deliveries still ours, oldest event first.
    async fn load(&self, ids: &[String]) -> Result<Vec<Job>, sqlx::Error> {
        let mut sql = SqlBuilder::new(
            "SELECT d.id, d.attempts, d.queued_at, e.event_type, e.payload, d.company_id, \
             d.location_id, d.app_id, a.webhook_url FROM webhook_deliveries d \
             JOIN webhook_events e ON e.id = d.event_id JOIN apps a ON a.id = d.app_id \
             WHERE d.status = 'sending' AND d.claimed_by = ",
        );
        sql.bind_text(self.id.clone()).push(" AND d.id IN (");
        bind_list(&mut sql, ids);
        sql.push(") ORDER BY e.created_at, d.created_at, d.id");
        sql.query_as().fetch_all(self.state.db.write()).await
    }

    async fn deliver(&self, job: &Job) -> anyhow::Result<()> {
        let url = match (job.webhook_url.as_deref(), self.still_listening(job).await?) {
            (Some(url), true) if !url.is_empty() => url.to_owned(),
            _ => return self.skip(job, "the app no longer listens here").await,
        };
        let keys = self.state.webhooks.keys(&self.state.db).await?;
        let started_at = self.state.clock.now_ms();
        let body = envelope(job, started_at)?;
        let signatures = keys.sign(&body);
        let started = Instant::now();
        let answer = match target::refuse(&url, self.state.webhooks.settings().block_private) {
            Some(reason) => Answer {
                status: None,
                error: Some(reason),
                snippet: None,
            },
            None => {
                let request = self
                    .client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(RSA_HEADER, signatures.rsa)
                    .header(ED25519_HEADER, signatures.ed25519)
                    .body(body);
                self.send(request).await
            }
        };
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.record(job, started_at, latency_ms, answer).await
    }

    /// Whether the app is still installed where the event happened (the app events go to
    /// their app whatever its installations).
    async fn still_listening(&self, job: &Job) -> Result<bool, sqlx::Error> {
        if matches!(
            EventKind::from_name(&job.event_type),
            Some(EventKind::AppInstall | EventKind::AppUninstall)
        ) {
            return Ok(true);
        }
        let installed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM app_installations i JOIN apps a ON a.id = i.app_id \
             WHERE i.app_id = $1 AND i.company_id = $2 AND i.uninstalled_at IS NULL \
             AND a.deleted_at IS NULL AND (i.location_id IS NULL OR i.location_id = $3)",
        )
        .bind(&job.app_id)
        .bind(&job.company_id)
        .bind(&job.location_id)
        .fetch_one(self.state.db.read())
        .await?;
        Ok(installed > 0)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let cap = self.state.webhooks.settings().max_response_bytes;
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return Answer {
                    status: None,
                    // Without the URL: it may carry the receiver's secret.
                    error: Some(e.without_url().to_string()),
                    snippet: None,
                };
            }
        };
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        let mut read = 0;
        let mut error = None;
        // Read at most `cap` bytes: a receiver cannot make hilo swallow an endless answer.
        while read < cap {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    let room = SNIPPET_BYTES.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(e.without_url().to_string());
                    break;
                }
            }
        }
        Answer {
            status: Some(status),
            error,
            snippet: Some(String::from_utf8_lossy(&kept).into_owned()),
        }
    }

    async fn record(
        &self,
        job: &Job,
        started_at: i64,
        latency_ms: i64,
        answer: Answer,
    ) -> anyhow::Result<()> {
        let now = self.state.clock.now_ms();
        let policy = self.state.webhooks.settings().retry;
        let delivered = answer.status.is_some_and(|s| (200..300).contains(&s));
        let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
        let (status, next_attempt_at) = if delivered {
            ("delivered", None)
        } else if policy.retries(answer.status) {
            match policy.next_attempt_at(attempts, job.queued_at, now) {
                Some(at) => ("pending", Some(at)),
                None => ("failed", None),
            }
        } else {
            ("failed", None)
        };
        let error = answer
            .error
            .clone()
            .or_else(|| (!delivered).then(|| "the receiver did not answer 2xx".to_owned()));
        let mut tx = self.state.db.write().begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, location_id, dispatcher, \
             started_at, latency_ms, status_code, error, response_snippet) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&job.id)
        .bind(job.attempts)
        .bind(&job.location_id)
        .bind(&self.id)
        .bind(started_at)
        .bind(latency_ms)
        .bind(answer.status.map(i64::from))
        .bind(&answer.error)
        .bind(&answer.snippet)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), lease_until = NULL, \
             claimed_by = NULL, last_status = $3, last_error = $4, delivered_at = $5 \
             WHERE id = $6 AND claimed_by = $7",
        )
        .bind(status)
        .bind(next_attempt_at)
        .bind(answer.status.map(i64::from))
        .bind(if delivered { None } else { error })
        .bind(delivered.then_some(now))
        .bind(&job.id)
        .bind(&self.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.context("recording a webhook attempt")?;
        Ok(())
    }

    /// Gives a delivery up without sending it.
    async fn skip(&self, job: &Job, reason: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'skipped', lease_until = NULL, \
             claimed_by = NULL, last_error = $1 WHERE id = $2 AND claimed_by = $3",
        )
        .bind(reason)
        .bind(&job.id)
        .bind(&self.id)
        .execute(self.state.db.write())
        .await?;
        Ok(())
    }
}

/// The bytes sent: the event's payload, then `appId` (which the official SDK checks),
/// `timestamp` (this attempt's, for receivers' replay windows) and `webhookId` (the same on
/// every attempt, for their duplicate check), as compact JSON, so that a receiver's
/// `JSON.stringify(body)` gives back exactly the signed bytes.
fn envelope(job: &Job, now_ms: i64) -> anyhow::Result<Vec<u8>> {
    let mut body: Map<String, Value> =
        serde_json::from_str(&job.payload).context("a stored webhook payload")?;
    if !body.contains_key("appId") {
        body.insert("appId".to_owned(), Value::from(job.app_id.as_str()));
    }
    body.insert("timestamp".to_owned(), Value::from(format_ms(now_ms)));
    body.insert("webhookId".to_owned(), Value::from(job.id.as_str()));
    Ok(serde_json::to_vec(&body)?)
}
