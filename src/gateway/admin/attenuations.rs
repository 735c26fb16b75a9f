//! `POST /admin/v1/attenuations` `{token, preset, days?, until?}`: the
//! token narrowed by a preset, with the same library calls as `tessera
//! attenuate --preset` ([`crate::model::Preset::restriction`], then
//! [`crate::token::attenuate_with_rng`]). Offline and stateless: no key,
//! no store, nothing logged of the token.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use rand::rngs::OsRng;

use crate::api::attenuation::{AttenuatedToken, AttenuationBody};
use crate::api::Invalid;
use crate::token::TokenError;

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::parse;
use super::openapi::ErrorBody;

/// `POST /attenuations`: the attenuated token.
#[utoipa::path(post, path = "/admin/v1/attenuations", tag = "tokens", request_body = AttenuationBody, responses((status = 200, description = "the attenuated token, once", body = AttenuatedToken), (status = 400, description = "the body, the preset, its expiry or the token is not valid", body = ErrorBody)))]
pub(super) async fn attenuate(
    State(gw): State<Gateway>,
    body: axum::body::Bytes,
) -> Result<Json<AttenuatedToken>, ApiError> {
    let now = Utc::now();
    let body: AttenuationBody = parse(&body)?;
    let (preset, restriction) = body.restriction(now)?;
    let child = crate::token::attenuate_with_rng(
        &body.token,
        &restriction,
        now,
        gw.config().max_token_bytes,
        &mut OsRng,
    )
    .map_err(|e| match e {
        TokenError::Build => ApiError::Internal(e.to_string()),
        TokenError::Invalid(e) => ApiError::BadRequest(Invalid::Request(e)),
        other => ApiError::BadRequest(Invalid::Token(other)),
    })?;
    Ok(Json(AttenuatedToken {
        token: child.expose().to_owned(),
        preset: preset.as_str().to_owned(),
        operations: restriction.operations.unwrap_or_default(),
        expires_at: restriction.expires_at,
    }))
}
