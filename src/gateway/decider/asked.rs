//! The decisions asked away from the front doors: `GET /v1/me`'s (every
//! operation on each candidate, in one blocking job) and the admin API's
//! (the admin policy), both through the decider's bounded blocking pool.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::authorize::{self, visible, Decision, Reason};
use crate::model::Operation;
use crate::token::VerifiedToken;

use super::{read, Decider};

impl Decider {
    /// `GET /v1/me`'s decisions ([`visible::look`]): every operation on
    /// each candidate for one verified token (or none), as one job on the
    /// blocking pool under one authorization permit. The caller bounds
    /// `candidates`.
    pub async fn look(
        &self,
        token: Option<Arc<VerifiedToken>>,
        candidates: Vec<crate::model::Resource>,
        now: DateTime<Utc>,
    ) -> Result<Vec<visible::Sight>, Reason> {
        let look = move |d: &Decider| {
            d.in_context(false, |ctx| {
                visible::look(ctx, token.as_deref(), &candidates, now)
            })
        };
        self.on_blocking_pool(look, || Err(Reason::Limits)).await
    }

    /// Authorizes an admin API request (`read` or `manage`) for a token:
    /// the same sequence, with the admin policy.
    pub async fn authorize_admin(
        &self,
        credential: Option<&str>,
        operation: Operation,
        now: DateTime<Utc>,
    ) -> Result<Arc<VerifiedToken>, Reason> {
        let text = credential.ok_or(Reason::MissingToken)?;
        let verified = self.verify_token(text).await;
        let admitted = verified.as_ref().ok().cloned();
        let decision = authorize::decide_with(Some(verified), |token| {
            self.off_workers(move |d| {
                let Some(token) = token else {
                    return Decision::deny(Reason::MissingToken, None);
                };
                let revocations = read(&d.0.revocations);
                authorize::authorize_admin(&d.0.admin_policy, &revocations, &token, operation, now)
            })
        })?
        .await;
        match (decision.reason, admitted) {
            (None, Some(token)) => Ok(token),
            (reason, _) => Err(reason.unwrap_or(Reason::MissingToken)),
        }
    }
}
