//! `GET /contacts/{contactId}/appointments` (spec: `get-appointments-for-contact`). Calendars do
//! not exist in hilo yet, so no contact has appointments: the answer is an empty `events` list
//! in the spec's shape, after the same contact and location checks as every contact route.

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::appointments::EventsResponse;

use super::contacts::require_contact;
use super::route;
use crate::auth::Auth;
use crate::endpoints::Operation;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::trace::Reply;
use crate::validate::{NoParams, QueryParams};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    route(router, Operation::ContactAppointments, contact_appointments)
}

async fn contact_appointments(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<EventsResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    Ok(Reply::ok(EventsResponse { events: Vec::new() }))
}
