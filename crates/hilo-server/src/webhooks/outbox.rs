//! The outbox: `enqueue` writes an event, and one delivery per app that should receive it, in
//! the caller's transaction, so an event exists exactly when the change it reports committed.
//! Apps are chosen here (routing); the dispatcher checks again when it sends, so an app
//! uninstalled in between receives nothing more.

use sqlx::AnyConnection;

use super::events::{Audience, Event};
use crate::ids::new_id;
use crate::time::now_ms;

/// Apps with a webhook URL, installed (live) where the event happened, with the scopes of each
/// installation; an app installed on both the location and its agency appears twice.
const INSTALLED_ON_LOCATION: &str = "SELECT a.id, i.scopes FROM app_installations i \
     JOIN apps a ON a.id = i.app_id JOIN locations l ON l.company_id = i.company_id \
     WHERE l.id = $1 AND (i.location_id = $1 OR i.location_id IS NULL) \
     AND i.uninstalled_at IS NULL AND a.deleted_at IS NULL \
     AND a.webhook_url IS NOT NULL AND a.webhook_url <> '' ORDER BY a.id";
const INSTALLED_ON_AGENCY: &str = "SELECT a.id, i.scopes FROM app_installations i \
     JOIN apps a ON a.id = i.app_id \
     WHERE i.company_id = $1 AND i.location_id IS NULL \
     AND i.uninstalled_at IS NULL AND a.deleted_at IS NULL \
     AND a.webhook_url IS NOT NULL AND a.webhook_url <> '' ORDER BY a.id";

/// Writes `event` and its deliveries within `tx`; nothing when no app should receive it.
pub async fn enqueue(tx: &mut AnyConnection, event: Event) -> Result<(), sqlx::Error> {
    let (company_id, recipients) = recipients(tx, &event).await?;
    if recipients.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let event_id = new_id();
    let payload = serde_json::Value::Object(event.payload).to_string();
    sqlx::query(
        "INSERT INTO webhook_events (id, company_id, location_id, event_type, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&event_id)
    .bind(&company_id)
    .bind(&event.location_id)
    .bind(event.kind.name())
    .bind(&payload)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for app_id in recipients {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, event_id, app_id, company_id, location_id, status, \
             attempts, next_attempt_at, queued_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6)",
        )
        .bind(new_id())
        .bind(&event_id)
        .bind(&app_id)
        .bind(&company_id)
        .bind(&event.location_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The event's agency, and the apps that receive it (each once).
async fn recipients(
    tx: &mut AnyConnection,
    event: &Event,
) -> Result<(String, Vec<String>), sqlx::Error> {
    let (company_id, installed): (String, Vec<(String, String)>) = match &event.audience {
        Audience::App(app_id) => {
            let listening: Option<String> = sqlx::query_scalar(
                "SELECT id FROM apps WHERE id = $1 AND deleted_at IS NULL \
                 AND webhook_url IS NOT NULL AND webhook_url <> ''",
            )
            .bind(app_id)
            .fetch_optional(&mut *tx)
            .await?;
            // The installing agency's event, not the developer's: the agency of the location,
            // or the one the payload names.
            let company_id = match &event.location_id {
                Some(location_id) => location_company(tx, location_id).await?,
                None => event
                    .payload
                    .get("companyId")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            };
            let installed = listening
                .into_iter()
                .map(|id| (id, String::new()))
                .collect();
            (company_id.unwrap_or_default(), installed)
        }
        Audience::Location(location_id) => {
            let Some(company_id) = location_company(tx, location_id).await? else {
                return Ok((String::new(), Vec::new()));
            };
            let installed = sqlx::query_as(INSTALLED_ON_LOCATION)
                .bind(location_id)
                .fetch_all(&mut *tx)
                .await?;
            (company_id, installed)
        }
        Audience::Agency(company_id) => {
            let installed = sqlx::query_as(INSTALLED_ON_AGENCY)
                .bind(company_id)
                .fetch_all(&mut *tx)
                .await?;
            (company_id.clone(), installed)
        }
    };
    let mut apps: Vec<String> = Vec::new();
    for (app_id, scopes) in installed {
        let covered = match event.kind.scope() {
            None => true,
            Some(needed) => scopes.split_whitespace().any(|s| s == needed),
        };
        if covered && !apps.contains(&app_id) {
            apps.push(app_id);
        }
    }
    Ok((company_id, apps))
}

async fn location_company(
    tx: &mut AnyConnection,
    location_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT company_id FROM locations WHERE id = $1")
        .bind(location_id)
        .fetch_optional(&mut *tx)
        .await
}
