//! Where the CLI's store commands go: the local redb store (with the data
//! directory's keys), or — while `tessera serve` holds the store — a running
//! gateway's admin API (`--server URL`). Both answer the same questions.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rand::rngs::OsRng;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{
    AuditEvent, AuditLog, DecisionBody, ErrorAnswer, IssueBody, IssuedToken, Operations,
    ReasonBody, RevocationBody, RevokedAnswer, TableBody, TableInfo, TokenList, ViewBody,
    WorkspaceInfo,
};
use crate::authorize::{self, Context, Decision, Policy, Request};
use crate::change::ChangeError;
use crate::keys::PublicKeyring;
use crate::model::{Id, IssueRequest, LedgerEntry};
use crate::store::datadir::DataDir;
use crate::store::{Revoked, Store};
use crate::token::{self, SecretToken, DEFAULT_MAX_TOKEN_BYTES};

use super::hints;

/// What to revoke.
#[derive(Debug, Clone)]
pub(crate) enum Revocation {
    /// A ledger token (and everything attenuated from it).
    TokenId(String),
    /// Revocation ids.
    Ids(Vec<Vec<u8>>),
    /// Every token issued for a view.
    View(Id),
}

/// A view with its place in the registry.
pub(crate) type ViewInfo = crate::api::ViewInfo;

impl Revocation {
    fn target(self) -> crate::change::RevokeTarget {
        use crate::change::RevokeTarget;
        match self {
            Revocation::TokenId(id) => RevokeTarget::TokenId(id),
            Revocation::Ids(ids) => RevokeTarget::RevocationIds(ids),
            Revocation::View(view) => RevokeTarget::View(view),
        }
    }
}

/// How a `check` should decide, beyond the request.
pub(crate) struct CheckOptions {
    pub(crate) at: DateTime<Utc>,
    pub(crate) explain: bool,
    pub(crate) policy: Option<Policy>,
    pub(crate) public_keys: Option<PublicKeyring>,
}

/// The store commands, locally or through a gateway.
pub(crate) enum Backend {
    /// The data directory's store and keys.
    Local { data: DataDir, store: Store },
    /// A gateway's admin API.
    Remote(Remote),
}

impl Backend {
    /// The local store, or the gateway at `server` when one is given.
    pub(crate) fn open(data: &DataDir, server: &ServerArgs) -> Result<Backend> {
        match &server.server {
            Some(url) => Ok(Backend::Remote(Remote::new(
                url,
                server.admin_token(data)?,
                &server.transport,
            )?)),
            None => Ok(Backend::Local {
                data: data.clone(),
                store: Store::open(&data.store_path())?,
            }),
        }
    }

    pub(crate) fn issue(
        &self,
        request: &IssueRequest,
        now: DateTime<Utc>,
    ) -> Result<(SecretToken, LedgerEntry)> {
        match self {
            Backend::Local { data, store } => {
                let grant = request.grant(&store.registry()?).map_err(hints::model)?;
                let ring = data.read_keyring()?;
                let issued =
                    token::issue_with_rng(&grant, &ring, now, &mut OsRng).map_err(hints::token)?;
                store.record_issued(&issued.entry)?;
                Ok((issued.token, issued.entry))
            }
            Backend::Remote(r) => {
                let body = IssueBody {
                    kind: request.kind,
                    user: request.user.clone(),
                    workspace: request.workspace.clone(),
                    view: request.view.clone(),
                    table: request.table.clone(),
                    allow: request.allow.clone().map(Operations::List),
                    read_only: request.read_only,
                    expires: request.expires_at.map(|t| t.to_rfc3339()),
                    label: request.label.clone(),
                };
                let answer: IssuedToken = r.call("POST", "/tokens", &body)?;
                Ok((SecretToken::from_issued(answer.token), answer.row.entry))
            }
        }
    }

    pub(crate) fn ledger(&self) -> Result<Vec<LedgerEntry>> {
        match self {
            Backend::Local { store, .. } => Ok(store.ledger()?),
            Backend::Remote(r) => {
                let answer: TokenList = r.get("/tokens")?;
                Ok(answer.tokens.into_iter().map(|row| row.entry).collect())
            }
        }
    }

    pub(crate) fn revoke(
        &self,
        what: Revocation,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Revoked> {
        match self {
            Backend::Local { store, .. } => {
                let applied = store
                    .revoke_target(&what.target(), reason, &crate::change::Actor::Cli, now)
                    .map_err(hints::store)?;
                Ok(applied.revoked())
            }
            Backend::Remote(r) => {
                let body = ReasonBody {
                    reason: reason.map(str::to_owned),
                };
                let answers: Vec<RevokedAnswer> = match what {
                    Revocation::TokenId(id) => {
                        vec![r.call("DELETE", &format!("/tokens/{id}"), &body)?]
                    }
                    Revocation::View(v) => {
                        vec![r.call("DELETE", &format!("/views/{v}/tokens"), &body)?]
                    }
                    Revocation::Ids(ids) => ids
                        .iter()
                        .map(|id| {
                            let body = RevocationBody {
                                revocation_id: hex::encode(id),
                                reason: reason.map(str::to_owned),
                            };
                            r.call("POST", "/revocations", &body)
                        })
                        .collect::<Result<_>>()?,
                };
                let mut revoked = Revoked::default();
                for one in answers {
                    revoked.revocation_ids.extend(one.revoked_ids);
                    revoked.token_ids.extend(one.token_ids);
                }
                Ok(revoked)
            }
        }
    }

    /// Registers a workspace; the workspace after, as the admin API answers it.
    pub(crate) fn set_workspace(&self, ws: &Id, now: DateTime<Utc>) -> Result<WorkspaceInfo> {
        match self {
            Backend::Local { store, .. } => {
                store.set_workspace(ws, now)?;
                WorkspaceInfo::of(&store.registry()?, ws)
                    .ok_or_else(|| anyhow::Error::from(ChangeError::UnknownWorkspace(ws.clone())))
            }
            Backend::Remote(r) => r.send("PUT", &format!("/workspaces/{ws}"), Vec::new()),
        }
    }

    /// Registers a table; the table after, as the admin API answers it.
    pub(crate) fn set_table(&self, table: &Id, ws: &Id, now: DateTime<Utc>) -> Result<TableInfo> {
        match self {
            Backend::Local { store, .. } => {
                store.set_table(table, ws, now).map_err(hints::store)?;
                TableInfo::of(&store.registry()?, table)
                    .ok_or_else(|| anyhow::Error::from(ChangeError::UnknownTable(table.clone())))
            }
            Backend::Remote(r) => {
                let body = TableBody {
                    workspace: ws.clone(),
                    author: None,
                };
                r.call("PUT", &format!("/tables/{table}"), &body)
            }
        }
    }

    pub(crate) fn set_view(
        &self,
        view: &Id,
        placement: Option<(&Id, &Id)>,
        changes: &[(&'static str, bool)],
        owner: (Option<Id>, Option<String>),
        now: DateTime<Utc>,
    ) -> Result<ViewInfo> {
        let (creator, visibility) = owner;
        let body = ViewBody {
            creator,
            visibility,
            ..ViewBody::new(placement, changes)
        };
        match self {
            Backend::Local { store, .. } => {
                let visibility = body.checked_visibility(&store.registry()?, view)?;
                let changes = body.changes();
                let changes: Vec<(&str, bool)> =
                    changes.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                let creator = body.creator.as_ref();
                store
                    .update_view_owned(
                        view,
                        placement,
                        &changes,
                        creator,
                        visibility,
                        None,
                        &crate::change::Actor::Cli,
                        now,
                    )
                    .map_err(hints::store)?;
                self.view(view)
            }
            Backend::Remote(r) => r.call("PUT", &format!("/views/{view}"), &body),
        }
    }

    pub(crate) fn view(&self, view: &Id) -> Result<ViewInfo> {
        match self {
            Backend::Local { store, .. } => ViewInfo::of(&store.registry()?, view)
                .ok_or_else(|| anyhow::Error::from(ChangeError::UnknownView(view.clone()))),
            Backend::Remote(r) => r.get(&format!("/views/{view}")),
        }
    }

    pub(crate) fn audit(&self) -> Result<Vec<AuditEvent>> {
        match self {
            Backend::Local { store, .. } => {
                Ok(store.audit()?.into_iter().map(AuditEvent::from).collect())
            }
            Backend::Remote(r) => Ok(r.get::<AuditLog>("/audit")?.events),
        }
    }

    pub(crate) fn decide(
        &self,
        token: Option<&str>,
        request: &Request,
        options: CheckOptions,
    ) -> Result<Decision> {
        match self {
            Backend::Local { data, store } => {
                let policy = match options.policy {
                    Some(p) => p,
                    None => Policy::default_with_limits(authorize::RunLimits::default())?,
                };
                let keyring = match options.public_keys {
                    Some(k) => k,
                    None => super::input::local_public_keyring(data, options.at)?,
                };
                let revocations = store.revocations()?;
                let registry = store.registry()?;
                let ctx = Context {
                    keyring: &keyring,
                    revocations: &revocations,
                    registry: &registry,
                    policy: &policy,
                    max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
                    token_limits: crate::token::TokenLimits::default(),
                    explain: options.explain,
                };
                Ok(authorize::decide(&ctx, token, request, options.at))
            }
            Backend::Remote(r) => {
                if options.policy.is_some() || options.public_keys.is_some() {
                    bail!("--policy and --public-keys decide locally; they cannot be combined with --server");
                }
                let body = DecisionBody {
                    token: token.map(str::to_owned),
                    operation: request.operation,
                    resource: request.resource.clone(),
                    at: Some(options.at),
                    explain: options.explain,
                };
                r.call("POST", "/decisions", &body)
            }
        }
    }
}

/// `--server` and the admin token that goes with it.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Go through this running gateway's admin API (e.g. http://127.0.0.1:8080)
    /// instead of opening the store, which `tessera serve` holds.
    #[arg(long, global = true, env = "TESSERA_SERVER")]
    pub server: Option<String>,
    /// The admin token for --server (default: TESSERA_ADMIN_TOKEN, else DATA_DIR/admin.token).
    #[arg(long, global = true, env = "TESSERA_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<std::path::PathBuf>,
    /// How the admin token travels: `--server-ca`, `--insecure-http-server`.
    #[command(flatten)]
    pub transport: super::transport::ServerTransportArgs,
}

impl ServerArgs {
    fn admin_token(&self, data: &DataDir) -> Result<String> {
        if let Ok(t) = std::env::var("TESSERA_ADMIN_TOKEN") {
            if !t.trim().is_empty() {
                return Ok(t.trim().to_owned());
            }
        }
        let path = self
            .admin_token_file
            .clone()
            .unwrap_or_else(|| data.root().join("admin.token"));
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "--server needs an admin token: set TESSERA_ADMIN_TOKEN or --admin-token-file (cannot read {})",
                path.display()
            )
        })?;
        Ok(text.trim().to_owned())
    }
}

/// A blocking client of the admin API.
pub(crate) struct Remote {
    base: String,
    token: String,
    runtime: tokio::runtime::Runtime,
    client: super::transport::AdminClient,
}

/// A gateway's error answer to an admin API call: its status, its
/// `error` code (what `--json` errors show as `reason`) and its message.
#[derive(Debug, thiserror::Error)]
#[error("server answered {status}: {code}: {message}")]
pub(crate) struct ServerAnswered {
    /// The HTTP status.
    pub(crate) status: hyper::StatusCode,
    /// The `error` code.
    pub(crate) code: String,
    /// The `message`.
    pub(crate) message: String,
}

impl Remote {
    fn new(
        url: &str,
        token: String,
        transport: &super::transport::ServerTransportArgs,
    ) -> Result<Remote> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let client = {
            let _guard = runtime.enter();
            transport.client(url)?
        };
        Ok(Remote {
            base: format!("{}/admin/v1", url.trim_end_matches('/')),
            token,
            runtime,
            client,
        })
    }

    /// A GET, answered with a `T`.
    pub(super) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send("GET", path, Vec::new())
    }

    /// A request with a JSON body, answered with a `T`.
    pub(super) fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(method, path, serde_json::to_vec(body)?)
    }

    /// Sends `body`; a success decodes as a `T`, an error answer as the
    /// server's code and message.
    pub(super) fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let request = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .with_context(|| format!("bad request for {url}"))?;
        let (status, bytes) = self.runtime.block_on(async {
            let response =
                tokio::time::timeout(Duration::from_secs(30), self.client.request(request))
                    .await
                    .map_err(|_| anyhow!("{url}: timed out"))?
                    .with_context(|| format!("cannot reach {url}"))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .with_context(|| format!("{url}: broken answer"))?
                .to_bytes();
            Ok::<_, anyhow::Error>((status, bytes))
        })?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorAnswer>(&bytes) {
                Ok(e) => (e.error, e.message),
                Err(_) => ("error".to_owned(), String::new()),
            };
            return Err(ServerAnswered {
                status,
                code,
                message,
            }
            .into());
        }
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes)
            .with_context(|| format!("{url}: the server's answer is not what this route returns"))
    }

    /// A request without a body whose answer has none (`204 No Content`).
    pub(super) fn send_empty(&self, method: &str, path: &str) -> Result<()> {
        self.send(method, path, Vec::new())
    }
}
