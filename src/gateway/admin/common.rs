//! What every admin API handler shares: who calls ([`Caller`]), running
//! store work off the async workers, committing a change, reading a body.

use chrono::Utc;
use serde::de::DeserializeOwned;

use crate::api::Invalid;
use crate::change;
use crate::model::access::Manager;
use crate::model::{Id, Registry};
use crate::store::StoreError;

use super::super::error::ApiError;
use super::super::state::Gateway;

/// Who calls a route: the global admin token, or (on the management
/// routes only) a member token's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// An admin token.
    Admin,
    /// A member token naming this user.
    Member(Id),
}

impl Caller {
    /// The caller as the management checks see it.
    pub(crate) fn manager(&self) -> Manager<'_> {
        match self {
            Caller::Admin => Manager::Operator,
            Caller::Member(user) => Manager::User(user),
        }
    }

    /// The member's user, for a member token.
    pub(crate) fn user(&self) -> Option<&Id> {
        match self {
            Caller::Admin => None,
            Caller::Member(user) => Some(user),
        }
    }
}

/// Runs blocking store work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (result, revision) = tokio::task::spawn_blocking(move || {
        let _ = crate::fleet::revision::take();
        let result = f();
        (result, crate::fleet::revision::take())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("worker: {e}")))?;
    crate::fleet::revision::carry(revision);
    result
}

/// Commits a change off the async workers and applies it to memory.
pub(crate) async fn commit(
    gw: &Gateway,
    f: impl FnOnce(&crate::store::Store) -> Result<change::Applied, crate::store::StoreError>
        + Send
        + 'static,
) -> Result<change::Applied, ApiError> {
    let worker = gw.clone();
    blocking(move || worker.commit(f)).await
}

/// Plans changes against the registry as it is while changes are held
/// still (so the checks `plan` makes cannot race another change) and
/// commits them, all or none, by `actor`.
pub(crate) async fn commit_planned(
    gw: &Gateway,
    actor: change::Actor,
    plan: impl FnOnce(&Registry) -> Result<Vec<change::Change>, change::ChangeError> + Send + 'static,
) -> Result<change::Applied, ApiError> {
    let worker = gw.clone();
    commit(gw, move |store| {
        // Expired assignments are as if removed, for every check a plan makes.
        let changes = plan(&worker.registry().as_of(Utc::now())).map_err(StoreError::Rejected)?;
        store.apply_all(&changes, &actor, Utc::now())
    })
    .await
}

/// A JSON body of type `T`: always an object (serde would otherwise read a
/// struct from an array of its fields in order, `[null, null]` included).
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        let e = <serde_json::Error as serde::de::Error>::custom("expected a JSON object");
        return Err(ApiError::BadRequest(Invalid::Body(e)));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(Invalid::Body(e)))
}

/// A JSON body that may be left out: empty, whitespace or `null` is
/// `T::default()`.
pub(crate) fn parse_optional<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    let text = body.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Ok(T::default());
    }
    parse(body)
}

/// The ids in a route's path (`Path<T>`), a malformed one answering 400
/// `bad_request` in the API's JSON like every other bad input.
pub(crate) struct Ids<T>(pub(crate) T);

impl<T, S> axum::extract::FromRequestParts<S> for Ids<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(ids)) => Ok(Ids(ids)),
            Err(e) => Err(ApiError::BadRequest(Invalid::Path(e.body_text()))),
        }
    }
}
