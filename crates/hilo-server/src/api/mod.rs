//! HighLevel's resources, one module each. Every route is registered through [`route`], which
//! takes its method and path from the endpoint table and tags the request with its row, so the
//! auth extractor knows which scope to demand.

pub mod appointments;
pub mod bulk_tags;
pub mod businesses;
pub mod campaigns;
pub mod contact_lists;
pub mod contacts;
pub mod custom_fields;
pub mod duplicates;
pub mod followers;
pub mod marketplace;
pub mod notes;
pub mod oauth;
pub mod search;
pub mod tags;
pub mod tasks;
pub mod workflows;

use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::{Extension, Router};

use crate::endpoints::Operation;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    let router = Router::new();
    let router = contacts::routes(router);
    let router = duplicates::routes(router);
    let router = search::routes(router);
    let router = tasks::routes(router);
    let router = notes::routes(router);
    let router = tags::routes(router);
    let router = bulk_tags::routes(router);
    let router = followers::routes(router);
    let router = campaigns::routes(router);
    let router = workflows::routes(router);
    let router = appointments::routes(router);
    let router = oauth::routes(router);
    let router = marketplace::routes(router);
    let router = custom_fields::routes(router);
    businesses::routes(router)
}

/// Registers `handler` for `operation` at the method and path of its endpoint row.
pub(crate) fn route<H, T>(
    router: Router<AppState>,
    operation: Operation,
    handler: H,
) -> Router<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let endpoint = operation.endpoint();
    let filter = MethodFilter::try_from(endpoint.method())
        .unwrap_or_else(|_| unreachable!("endpoint methods are GET, POST, PUT or DELETE"));
    router.route(
        endpoint.path,
        on(filter, handler).layer(Extension(endpoint)),
    )
}
