//! Contact tasks (spec: `get-all-tasks`, `create-task`, `get-task`, `update-task`,
//! `update-task-completed`, `delete-task`; dossier §3.3–3.8).

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::contacts::SuccededResponse;
use hilo_types::tasks::{
    CreateTask, Task, TaskResponse, TasksResponse, UpdateTask, UpdateTaskCompleted,
};
use serde::Deserialize;

use super::contacts::{require_contact, touch};
use super::route;
use crate::auth::Auth;
use crate::db::Flag;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::state::AppState;
use crate::time::{format_ms, now_ms, parse_datetime_ms};
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};
use crate::webhooks::events::TaskFields;
use crate::webhooks::{self, Event, EventKind};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::ListTasks, list_tasks);
    let router = route(router, Operation::CreateTask, create_task);
    let router = route(router, Operation::GetTask, get_task);
    let router = route(router, Operation::UpdateTask, update_task);
    let router = route(router, Operation::CompleteTask, complete_task);
    route(router, Operation::DeleteTask, delete_task)
}

impl Schema for CreateTask {
    const FIELDS: &'static [Field] = &[
        required("title", Kind::String),
        optional("body", Kind::String),
        required("dueDate", Kind::DateTime),
        required("completed", Kind::Bool),
        optional("assignedTo", Kind::String),
    ];
}

impl Schema for UpdateTask {
    const FIELDS: &'static [Field] = &[
        optional("title", Kind::String),
        optional("body", Kind::String),
        optional("dueDate", Kind::DateTime),
        optional("completed", Kind::Bool),
        optional("assignedTo", Kind::String),
        // Not in the spec; n8n sends it.
        optional("status", Kind::OneOf(&["completed", "incompleted"])),
    ];
}

impl Schema for UpdateTaskCompleted {
    const FIELDS: &'static [Field] = &[required("completed", Kind::Bool)];
}

/// n8n pages task lists with `limit` (and `skip`); the spec has no paging, so both are optional.
#[derive(Debug, Deserialize)]
struct ListTasksQuery {
    limit: Option<i64>,
    skip: Option<i64>,
}

impl Schema for ListTasksQuery {
    const FIELDS: &'static [Field] = &[
        optional("limit", Kind::QueryInt { min: 1, max: 1000 }),
        optional(
            "skip",
            Kind::QueryInt {
                min: 0,
                max: i64::MAX,
            },
        ),
    ];
}

#[derive(Debug, sqlx::FromRow)]
struct TaskRow {
    id: String,
    contact_id: String,
    title: String,
    body: Option<String>,
    assigned_to: Option<String>,
    due_date: i64,
    completed: Flag,
    date_added: i64,
}

impl TaskRow {
    fn to_task(&self) -> Task {
        Task {
            id: self.id.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            assigned_to: self.assigned_to.clone(),
            due_date: format_ms(self.due_date),
            completed: self.completed.0,
            contact_id: self.contact_id.clone(),
        }
    }

    fn webhook_event(&self, kind: EventKind, location_id: &str) -> Event {
        let fields = TaskFields {
            id: self.id.clone(),
            assigned_to: self.assigned_to.clone(),
            body: self.body.clone(),
            contact_id: self.contact_id.clone(),
            title: self.title.clone(),
            date_added: format_ms(self.date_added),
            due_date: format_ms(self.due_date),
        };
        Event::of_location(kind, location_id, &fields)
    }
}

const COLUMNS: &str = "id, contact_id, title, body, assigned_to, due_date, completed, date_added";

fn due_date(s: &str) -> ApiResult<i64> {
    parse_datetime_ms(s)
        .ok_or_else(|| ApiError::unprocessable("dueDate must be a valid ISO 8601 date string"))
}

async fn load_task(
    state: &AppState,
    auth: &Auth,
    contact_id: &str,
    task_id: &str,
) -> ApiResult<TaskRow> {
    require_contact(state, auth, contact_id).await?;
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE location_id = $1 AND contact_id = $2 AND id = $3"
    ))
    .bind(&auth.location_id)
    .bind(contact_id)
    .bind(task_id)
    .fetch_optional(state.db.read())
    .await?
    .ok_or_else(|| ApiError::bad_request("Task not found"))
}

async fn list_tasks(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    QueryParams(q): QueryParams<ListTasksQuery>,
) -> ApiResult<Reply<TasksResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    let rows: Vec<TaskRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE location_id = $1 AND contact_id = $2 \
         ORDER BY date_added, id LIMIT $3 OFFSET $4"
    ))
    .bind(&auth.location_id)
    .bind(&contact_id)
    .bind(q.limit.unwrap_or(i64::MAX))
    .bind(q.skip.unwrap_or(0))
    .fetch_all(state.db.read())
    .await?;
    Ok(Reply::ok(TasksResponse {
        tasks: rows.iter().map(TaskRow::to_task).collect(),
    }))
}

async fn create_task(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<CreateTask>,
) -> ApiResult<Reply<TaskResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    let now = now_ms();
    let row = TaskRow {
        id: new_id(),
        contact_id,
        title: body.title,
        body: body.body,
        assigned_to: body.assigned_to,
        due_date: due_date(&body.due_date)?,
        completed: Flag(body.completed),
        date_added: now,
    };
    let mut tx = state.db.write().begin().await?;
    sqlx::query(
        "INSERT INTO tasks (id, location_id, contact_id, title, body, assigned_to, due_date, completed, date_added, date_updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&row.id)
    .bind(&auth.location_id)
    .bind(&row.contact_id)
    .bind(&row.title)
    .bind(&row.body)
    .bind(&row.assigned_to)
    .bind(row.due_date)
    .bind(row.completed)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    touch(&mut tx, &auth.location_id, &row.contact_id).await?;
    webhooks::enqueue(
        &mut tx,
        row.webhook_event(EventKind::TaskCreate, &auth.location_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::created(TaskResponse {
        task: row.to_task(),
    }))
}

async fn get_task(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, task_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<TaskResponse>> {
    let row = load_task(&state, &auth, &contact_id, &task_id).await?;
    Ok(Reply::ok(TaskResponse {
        task: row.to_task(),
    }))
}

/// Stores a changed task; a task that was open and is now completed fires TaskComplete (there
/// is no TaskUpdate event).
async fn save(state: &AppState, auth: &Auth, row: &TaskRow, was_completed: bool) -> ApiResult<()> {
    let mut tx = state.db.write().begin().await?;
    sqlx::query(
        "UPDATE tasks SET title = $1, body = $2, assigned_to = $3, due_date = $4, completed = $5, date_updated = $6 \
         WHERE location_id = $7 AND contact_id = $8 AND id = $9",
    )
    .bind(&row.title)
    .bind(&row.body)
    .bind(&row.assigned_to)
    .bind(row.due_date)
    .bind(row.completed)
    .bind(now_ms())
    .bind(&auth.location_id)
    .bind(&row.contact_id)
    .bind(&row.id)
    .execute(&mut *tx)
    .await?;
    if row.completed.0 && !was_completed {
        let event = row.webhook_event(EventKind::TaskComplete, &auth.location_id);
        webhooks::enqueue(&mut tx, event).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn update_task(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, task_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
    Body(change): Body<UpdateTask>,
) -> ApiResult<Reply<TaskResponse>> {
    let mut row = load_task(&state, &auth, &contact_id, &task_id).await?;
    let was_completed = row.completed.0;
    if let Some(title) = change.title {
        row.title = title;
    }
    if let Some(body) = change.body {
        row.body = Some(body);
    }
    if let Some(assigned_to) = change.assigned_to {
        row.assigned_to = Some(assigned_to);
    }
    if let Some(due) = change.due_date {
        row.due_date = due_date(&due)?;
    }
    // `completed` wins over n8n's `status` when both are sent.
    if let Some(completed) = change.completed.or(change.status.map(|s| s == "completed")) {
        row.completed = Flag(completed);
    }
    save(&state, &auth, &row, was_completed).await?;
    Ok(Reply::ok(TaskResponse {
        task: row.to_task(),
    }))
}

async fn complete_task(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, task_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
    Body(body): Body<UpdateTaskCompleted>,
) -> ApiResult<Reply<TaskResponse>> {
    let mut row = load_task(&state, &auth, &contact_id, &task_id).await?;
    let was_completed = row.completed.0;
    row.completed = Flag(body.completed);
    save(&state, &auth, &row, was_completed).await?;
    Ok(Reply::ok(TaskResponse {
        task: row.to_task(),
    }))
}

async fn delete_task(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, task_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<SuccededResponse>> {
    let row = load_task(&state, &auth, &contact_id, &task_id).await?;
    let mut tx = state.db.write().begin().await?;
    sqlx::query("DELETE FROM tasks WHERE location_id = $1 AND contact_id = $2 AND id = $3")
        .bind(&auth.location_id)
        .bind(&row.contact_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    webhooks::enqueue(
        &mut tx,
        row.webhook_event(EventKind::TaskDelete, &auth.location_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}
