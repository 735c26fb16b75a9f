//! The decision for one HTTP request, as every front door asks it: what
//! can be decided at once (an unknown route, an oversize token, a cached
//! decision: this thread's copy, then the shared cache) without building a
//! future, then the decision sequence, then what every decision ends with
//! (an embed's own refusal, the metrics, the token's use noted).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::authorize::{self, Reason};

use super::super::identity::Allowed;
use super::super::last_used::{LastUsed, LAST_USED_GRANULARITY};
use super::{local, CachedDecision, Decider, DecisionKey, Outcome};

/// What a front door asks: the credential's text (none: anonymous), the
/// method and raw path as decided, and the time of the decision. `Debug`
/// never shows the credential.
#[derive(Clone, Copy)]
pub struct Question<'a> {
    /// The token text, as the request carried it.
    pub credential: Option<&'a str>,
    /// The method decided on (the original one for forward-auth).
    pub method: &'a str,
    /// The path and query decided on, before normalisation.
    pub raw_path: &'a str,
    /// When the decision is made.
    pub now: DateTime<Utc>,
}

impl std::fmt::Debug for Question<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Question")
            .field("credential", &self.credential.map(|_| "<redacted>"))
            .field("method", &self.method)
            .field("raw_path", &self.raw_path)
            .field("now", &self.now)
            .finish()
    }
}

/// A decision that needs the decision sequence: the epoch read before it
/// and its cache key.
struct Pending {
    epoch: u64,
    key: DecisionKey,
}

impl Decider {
    /// The decision for one HTTP request ([`Decider::at_once`], else the
    /// decision sequence), counted in the metrics, an allowed token's use
    /// noted in `uses`.
    pub async fn decide(&self, uses: &LastUsed, asked: &Question<'_>) -> Outcome {
        let start = Instant::now();
        let outcome = match self.at_once(asked, start) {
            Ok(outcome) => outcome,
            Err(pending) => self.decide_pending(asked, pending).await,
        };
        self.counted(uses, asked, start, outcome)
    }

    /// [`Decider::decide`] when it needs no waiting: a cached decision, or a
    /// refusal before any token work (an unknown route, an oversize token).
    /// `None` otherwise, and nothing counted: the caller then decides.
    pub fn decide_at_once(&self, uses: &LastUsed, asked: &Question<'_>) -> Option<Outcome> {
        let start = Instant::now();
        let outcome = self.at_once(asked, start).ok()?;
        Some(self.counted(uses, asked, start, outcome))
    }

    /// An outcome as every decision ends: an embed's own refusal applied,
    /// counted in the metrics, an allowed token's use noted in `uses`.
    fn counted(
        &self,
        uses: &LastUsed,
        asked: &Question<'_>,
        start: Instant,
        outcome: Outcome,
    ) -> Outcome {
        let Question {
            method,
            raw_path,
            now,
            ..
        } = *asked;
        let outcome = outcome.and_then(|a| {
            let embed = super::super::embed::refusal(
                &self.0.routes,
                || self.registry(),
                method,
                raw_path,
                &a,
            );
            embed.map_or(Ok(a), Err)
        });
        self.0
            .metrics
            .record(outcome.as_ref().err().copied(), start.elapsed());
        if let Ok(allowed) = &outcome {
            if allowed.note_due(now.timestamp(), LAST_USED_GRANULARITY.num_seconds()) {
                if let Some(id) = allowed
                    .decision
                    .claims
                    .as_ref()
                    .and_then(|c| c.token_id.clone())
                {
                    uses.note_use(id, now);
                }
            }
        }
        outcome
    }

    /// What can be decided without waiting: route, decision caches (this
    /// thread's copy, then the shared cache). A cached decision is usable
    /// until its time to live has passed at `started` (the clock the
    /// caller read already; no second reading). `Err` carries what the
    /// decision sequence needs.
    fn at_once(&self, asked: &Question<'_>, started: Instant) -> Result<Outcome, Pending> {
        let Question {
            credential,
            method,
            raw_path,
            now,
        } = *asked;
        // Read the epoch before deciding: a decision made while a change
        // lands is stored under the old epoch and never served.
        let epoch = self.0.epoch.load(Ordering::Acquire);
        let ttl = self.0.decision_ttl;
        let usable = |hit: &CachedDecision| {
            hit.epoch == epoch && hit.until > started && hit.token_expires.is_none_or(|at| now < at)
        };
        let (owner, cached) = (self.0.owner, !ttl.is_zero());
        // Only text that fits the limit is looked up (a copy is made only
        // of text that did), before anything hashes it.
        let fits = credential.is_none_or(|c| c.len() <= self.0.max_token_bytes);
        if cached && fits {
            if let Some(outcome) = local::get(owner, epoch, credential, method, raw_path, usable) {
                self.0.metrics.decision_cache_hit();
                return Ok(outcome);
            }
        }
        let token_key = credential.map(|c| self.token_key(c)).transpose();
        let request = match self.0.routes.resolve(method, raw_path) {
            Ok(request) => request,
            Err(e) => return Ok(Err(Reason::from(e))),
        };
        let token_key = match token_key {
            Ok(key) => key,
            Err(e) => return Ok(Err(Reason::from(&e))),
        };
        let key = (token_key, request);
        if cached {
            if let Some(hit) = self.0.decisions.get(&key) {
                if usable(&hit) {
                    self.0.metrics.decision_cache_hit();
                    let outcome = hit.outcome.clone();
                    local::put(owner, epoch, credential, method, raw_path, hit);
                    return Ok(outcome);
                }
            }
        }
        Err(Pending { epoch, key })
    }

    /// The decision sequence ([`authorize::decide_with`]) on a verified
    /// token from the token cache, its outcome cached.
    async fn decide_pending(&self, asked: &Question<'_>, pending: Pending) -> Outcome {
        let (
            Question {
                credential, now, ..
            },
            Pending { epoch, key },
        ) = (*asked, pending);
        let verified = self.verify_credential(credential).await;
        let token_expires = match &verified {
            Some(Ok(token)) => token.claims().expires_at,
            _ => None,
        };
        let outcome = match authorize::decide_with(verified, |token| {
            self.authorize_off_workers(token, key.1.clone(), now)
        }) {
            Ok(run) => {
                let decision = run.await;
                match decision.reason {
                    None => Ok(Arc::new(Allowed::new(key.1.clone(), decision))),
                    Some(reason) => Err(reason),
                }
            }
            Err(refused) => Err(refused),
        };
        self.remember(key, epoch, token_expires, &outcome);
        outcome
    }

    fn remember(
        &self,
        key: DecisionKey,
        epoch: u64,
        token_expires: Option<DateTime<Utc>>,
        outcome: &Outcome,
    ) {
        let ttl = self.0.decision_ttl;
        // A run-limit denial may be the machine's load (the time budget), not
        // the token: it is never served again from the cache.
        // Text that is not a token at all is cheap to refuse again, and
        // caching it would let junk push real decisions out of the cache.
        if ttl.is_zero() || matches!(outcome, Err(Reason::Limits | Reason::Malformed)) {
            return;
        }
        self.0.decisions.insert(
            key,
            CachedDecision {
                epoch,
                until: Instant::now() + ttl,
                token_expires,
                outcome: outcome.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_never_shows_its_credential() {
        let asked = Question {
            credential: Some("tsr_secret_token_text"),
            method: "GET",
            raw_path: "/api/v1/views/v_1/rows",
            now: Utc::now(),
        };
        let shown = format!("{asked:?}");
        assert!(!shown.contains("tsr_secret"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("/api/v1/views/v_1/rows"));
    }
}
