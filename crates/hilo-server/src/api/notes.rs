//! Contact notes (spec: `get-all-notes`, `create-note`, `get-note`, `update-note`,
//! `delete-note`; dossier §3.12–3.16).

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::contacts::SuccededResponse;
use hilo_types::notes::{CreateNote, Note, NoteResponse, NotesResponse, UpdateNote};

use super::contacts::{require_contact, touch};
use super::route;
use crate::auth::Auth;
use crate::db::Flag;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::state::AppState;
use crate::time::{format_ms, now_ms};
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};
use crate::webhooks::events::NoteFields;
use crate::webhooks::{self, Event, EventKind};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::ListNotes, list_notes);
    let router = route(router, Operation::CreateNote, create_note);
    let router = route(router, Operation::GetNote, get_note);
    let router = route(router, Operation::UpdateNote, update_note);
    route(router, Operation::DeleteNote, delete_note)
}

impl Schema for CreateNote {
    const FIELDS: &'static [Field] = &[
        optional("userId", Kind::String),
        required("body", Kind::String),
        optional("title", Kind::String),
        optional("color", Kind::String),
        optional("pinned", Kind::Bool),
    ];
}

impl Schema for UpdateNote {
    const FIELDS: &'static [Field] = &[
        optional("userId", Kind::String),
        optional("body", Kind::String),
        optional("title", Kind::String),
        optional("color", Kind::String),
        optional("pinned", Kind::Bool),
    ];
}

#[derive(Debug, sqlx::FromRow)]
struct NoteRow {
    id: String,
    contact_id: String,
    body: String,
    user_id: Option<String>,
    title: Option<String>,
    color: Option<String>,
    pinned: Flag,
    date_added: i64,
}

impl NoteRow {
    fn to_note(&self) -> Note {
        Note {
            id: self.id.clone(),
            body: self.body.clone(),
            user_id: self.user_id.clone(),
            date_added: format_ms(self.date_added),
            contact_id: self.contact_id.clone(),
            title: self.title.clone(),
            color: self.color.clone(),
            pinned: self.pinned.0,
        }
    }

    /// The note as its events carry it: `userId` and `title` stay out (dossier §6.2).
    fn webhook_event(&self, kind: EventKind, location_id: &str) -> Event {
        let fields = NoteFields {
            id: self.id.clone(),
            body: self.body.clone(),
            contact_id: self.contact_id.clone(),
            date_added: format_ms(self.date_added),
        };
        Event::of_location(kind, location_id, &fields)
    }
}

const COLUMNS: &str = "id, contact_id, body, user_id, title, color, pinned, date_added";

async fn load_note(
    state: &AppState,
    auth: &Auth,
    contact_id: &str,
    note_id: &str,
) -> ApiResult<NoteRow> {
    require_contact(state, auth, contact_id).await?;
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notes WHERE location_id = $1 AND contact_id = $2 AND id = $3"
    ))
    .bind(&auth.location_id)
    .bind(contact_id)
    .bind(note_id)
    .fetch_optional(state.db.read())
    .await?
    .ok_or_else(|| ApiError::bad_request("Note not found"))
}

async fn list_notes(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<NotesResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    let rows: Vec<NoteRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notes WHERE location_id = $1 AND contact_id = $2 ORDER BY date_added DESC, id"
    ))
    .bind(&auth.location_id)
    .bind(&contact_id)
    .fetch_all(state.db.read())
    .await?;
    Ok(Reply::ok(NotesResponse {
        notes: rows.iter().map(NoteRow::to_note).collect(),
    }))
}

async fn create_note(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<CreateNote>,
) -> ApiResult<Reply<NoteResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    let row = NoteRow {
        id: new_id(),
        contact_id,
        body: body.body,
        user_id: body.user_id,
        title: body.title,
        color: body.color,
        pinned: Flag(body.pinned.unwrap_or(false)),
        date_added: now_ms(),
    };
    let mut tx = state.db.write().begin().await?;
    sqlx::query(
        "INSERT INTO notes (id, location_id, contact_id, body, user_id, title, color, pinned, date_added, date_updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&row.id)
    .bind(&auth.location_id)
    .bind(&row.contact_id)
    .bind(&row.body)
    .bind(&row.user_id)
    .bind(&row.title)
    .bind(&row.color)
    .bind(row.pinned)
    .bind(row.date_added)
    .execute(&mut *tx)
    .await?;
    touch(&mut tx, &auth.location_id, &row.contact_id).await?;
    webhooks::enqueue(
        &mut tx,
        row.webhook_event(EventKind::NoteCreate, &auth.location_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::created(NoteResponse {
        note: row.to_note(),
    }))
}

async fn get_note(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, note_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<NoteResponse>> {
    let row = load_note(&state, &auth, &contact_id, &note_id).await?;
    Ok(Reply::ok(NoteResponse {
        note: row.to_note(),
    }))
}

async fn update_note(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, note_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
    Body(change): Body<UpdateNote>,
) -> ApiResult<Reply<NoteResponse>> {
    let mut row = load_note(&state, &auth, &contact_id, &note_id).await?;
    if let Some(body) = change.body {
        if body.trim().is_empty() {
            return Err(ApiError::unprocessable("body should not be empty"));
        }
        row.body = body;
    }
    if let Some(user_id) = change.user_id {
        row.user_id = Some(user_id);
    }
    if let Some(title) = change.title {
        row.title = Some(title);
    }
    if let Some(color) = change.color {
        row.color = Some(color);
    }
    if let Some(pinned) = change.pinned {
        row.pinned = Flag(pinned);
    }
    let mut tx = state.db.write().begin().await?;
    sqlx::query(
        "UPDATE notes SET body = $1, user_id = $2, title = $3, color = $4, pinned = $5, date_updated = $6 \
         WHERE location_id = $7 AND contact_id = $8 AND id = $9",
    )
    .bind(&row.body)
    .bind(&row.user_id)
    .bind(&row.title)
    .bind(&row.color)
    .bind(row.pinned)
    .bind(now_ms())
    .bind(&auth.location_id)
    .bind(&row.contact_id)
    .bind(&row.id)
    .execute(&mut *tx)
    .await?;
    webhooks::enqueue(
        &mut tx,
        row.webhook_event(EventKind::NoteUpdate, &auth.location_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::ok(NoteResponse {
        note: row.to_note(),
    }))
}

async fn delete_note(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, note_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<SuccededResponse>> {
    let row = load_note(&state, &auth, &contact_id, &note_id).await?;
    let mut tx = state.db.write().begin().await?;
    sqlx::query("DELETE FROM notes WHERE location_id = $1 AND contact_id = $2 AND id = $3")
        .bind(&auth.location_id)
        .bind(&row.contact_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    webhooks::enqueue(
        &mut tx,
        row.webhook_event(EventKind::NoteDelete, &auth.location_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}
