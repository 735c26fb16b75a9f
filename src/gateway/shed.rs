//! Load shedding in front of the decision path: at most
//! `max_in_flight_decisions` requests on the decision front doors at once
//! (one count shared by all of them); one more is refused at once with 503
//! `overloaded` and `Retry-After`, never queued, so a burst cannot pile up
//! requests (and their memory) behind the authorizer's own bound.

use axum::error_handling::HandleErrorLayer;
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;

use super::error::ApiError;
use super::state::Gateway;

/// `routes` (and their fallback) behind one concurrency limit of
/// `max_in_flight` (at least 1), shedding past it.
pub(super) fn shed_past(routes: Router<Gateway>, max_in_flight: usize) -> Router<Gateway> {
    routes.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(overloaded))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(max_in_flight.max(1))),
    )
}

/// The answer of a shed request (the only error the layers below make).
async fn overloaded(_: tower::BoxError) -> ApiError {
    ApiError::Overloaded
}
