//! Where the CLI's store commands go: the local redb store (with the data
//! directory's keys), or — while `tessera serve` holds the store — a running
//! gateway's admin API (`--server URL`). Both answer the same questions.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::rngs::OsRng;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::{self, Context, Decision, Policy, Request};
use crate::keys::PublicKeyring;
use crate::model::{Id, IssueRequest, LedgerEntry, ViewEntry};
use crate::store::datadir::DataDir;
use crate::store::{AuditEvent, Revoked, Store};
use crate::token::{self, SecretToken, DEFAULT_MAX_TOKEN_BYTES};

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
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ViewInfo {
    pub(crate) table: Id,
    pub(crate) workspace: Option<Id>,
    pub(crate) settings: crate::model::ViewSettings,
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
                let grant = request.grant(&store.registry()?)?;
                let ring = data.read_keyring()?;
                let issued = token::issue_with_rng(&grant, &ring, now, &mut OsRng)?;
                store.record_issued(&issued.entry)?;
                Ok((issued.token, issued.entry))
            }
            Backend::Remote(r) => {
                let mut body = json!({
                    "kind": request.kind,
                    "workspace": request.workspace,
                    "view": request.view,
                    "table": request.table,
                    "allow": request.allow,
                    "read_only": request.read_only,
                    "expires": request.expires_at.map(|t| t.to_rfc3339()),
                    "label": request.label,
                });
                if let Some(o) = body.as_object_mut() {
                    o.retain(|_, v| !v.is_null());
                }
                let mut answer = r.call("POST", "/tokens", Some(body))?;
                let token = answer
                    .get("token")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("the server's answer has no token"))?
                    .to_owned();
                if let Some(o) = answer.as_object_mut() {
                    o.remove("token");
                    o.remove("share_link");
                    o.remove("state");
                }
                let entry: LedgerEntry = serde_json::from_value(answer)
                    .context("the server's answer is not a ledger entry")?;
                Ok((SecretToken::from_issued(token), entry))
            }
        }
    }

    pub(crate) fn ledger(&self) -> Result<Vec<LedgerEntry>> {
        match self {
            Backend::Local { store, .. } => Ok(store.ledger()?),
            Backend::Remote(r) => {
                let mut answer = r.call("GET", "/tokens", None)?;
                let mut rows: Vec<Value> = serde_json::from_value(answer["tokens"].take())?;
                for row in &mut rows {
                    if let Some(o) = row.as_object_mut() {
                        o.remove("state");
                    }
                }
                Ok(rows
                    .into_iter()
                    .map(serde_json::from_value)
                    .collect::<Result<_, _>>()?)
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
            Backend::Local { store, .. } => Ok(match what {
                Revocation::TokenId(id) => store.revoke_token_id(&id, reason, now)?,
                Revocation::Ids(ids) => store.revoke(&ids, reason, now)?,
                Revocation::View(v) => store.revoke_view(&v, reason, now)?,
            }),
            Backend::Remote(r) => {
                let body = Some(json!({ "reason": reason }));
                let answers = match what {
                    Revocation::TokenId(id) => {
                        vec![r.call("DELETE", &format!("/tokens/{id}"), body)?]
                    }
                    Revocation::View(v) => {
                        vec![r.call("DELETE", &format!("/views/{v}/tokens"), body)?]
                    }
                    Revocation::Ids(ids) => ids
                        .iter()
                        .map(|id| {
                            r.call(
                                "POST",
                                "/revocations",
                                Some(json!({ "revocation_id": hex::encode(id), "reason": reason })),
                            )
                        })
                        .collect::<Result<_>>()?,
                };
                let mut revoked = Revoked::default();
                for a in answers {
                    let one: RevokedAnswer = serde_json::from_value(a)?;
                    revoked.revocation_ids.extend(one.revoked_ids);
                    revoked.token_ids.extend(one.token_ids);
                }
                Ok(revoked)
            }
        }
    }

    pub(crate) fn set_workspace(&self, ws: &Id, now: DateTime<Utc>) -> Result<()> {
        match self {
            Backend::Local { store, .. } => Ok(store.set_workspace(ws, now)?),
            Backend::Remote(r) => r.call("PUT", &format!("/workspaces/{ws}"), None).map(drop),
        }
    }

    pub(crate) fn set_table(&self, table: &Id, ws: &Id, now: DateTime<Utc>) -> Result<()> {
        match self {
            Backend::Local { store, .. } => Ok(store.set_table(table, ws, now)?),
            Backend::Remote(r) => r
                .call(
                    "PUT",
                    &format!("/tables/{table}"),
                    Some(json!({ "workspace": ws })),
                )
                .map(drop),
        }
    }

    pub(crate) fn set_view(
        &self,
        view: &Id,
        placement: Option<(&Id, &Id)>,
        changes: &[(&'static str, bool)],
        now: DateTime<Utc>,
    ) -> Result<ViewInfo> {
        match self {
            Backend::Local { store, .. } => {
                store.set_view(view, placement, changes, now)?;
                self.view(view)
            }
            Backend::Remote(r) => {
                let mut body = serde_json::Map::new();
                if let Some((t, w)) = placement {
                    body.insert("table".into(), json!(t));
                    body.insert("workspace".into(), json!(w));
                }
                for (name, value) in changes {
                    body.insert((*name).into(), json!(value));
                }
                Ok(serde_json::from_value(r.call(
                    "PUT",
                    &format!("/views/{view}"),
                    Some(Value::Object(body)),
                )?)?)
            }
        }
    }

    pub(crate) fn view(&self, view: &Id) -> Result<ViewInfo> {
        match self {
            Backend::Local { store, .. } => {
                let registry = store.registry()?;
                let ViewEntry { table, settings } = registry
                    .views
                    .get(view)
                    .cloned()
                    .ok_or_else(|| anyhow!("view {view} is not registered"))?;
                Ok(ViewInfo {
                    workspace: registry.tables.get(&table).cloned(),
                    table,
                    settings,
                })
            }
            Backend::Remote(r) => Ok(serde_json::from_value(r.call(
                "GET",
                &format!("/views/{view}"),
                None,
            )?)?),
        }
    }

    pub(crate) fn audit(&self) -> Result<Vec<AuditEvent>> {
        match self {
            Backend::Local { store, .. } => Ok(store.audit()?),
            Backend::Remote(r) => {
                let mut answer = r.call("GET", "/audit", None)?;
                Ok(serde_json::from_value(answer["events"].take())?)
            }
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
                    None => super::local_public_keyring(data, options.at)?,
                };
                let revocations = store.revocations()?;
                let registry = store.registry()?;
                let ctx = Context {
                    keyring: &keyring,
                    revocations: &revocations,
                    registry: &registry,
                    policy: &policy,
                    max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
                    explain: options.explain,
                };
                Ok(authorize::decide(&ctx, token, request, options.at))
            }
            Backend::Remote(r) => {
                if options.policy.is_some() || options.public_keys.is_some() {
                    bail!("--policy and --public-keys decide locally; they cannot be combined with --server");
                }
                let answer = r.call(
                    "POST",
                    "/decisions",
                    Some(json!({
                        "token": token,
                        "operation": request.operation,
                        "resource": request.resource,
                        "at": options.at.to_rfc3339(),
                        "explain": options.explain,
                    })),
                )?;
                Ok(serde_json::from_value(answer)?)
            }
        }
    }
}

#[derive(Deserialize)]
struct RevokedAnswer {
    revoked_ids: Vec<String>,
    token_ids: Vec<Id>,
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
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Remote {
    fn new(url: &str, token: String) -> Result<Remote> {
        if !url.starts_with("http://") {
            bail!("--server {url:?}: only http:// URLs are supported (the admin API is meant for loopback or a TLS-terminating proxy)");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let client = {
            let _guard = runtime.enter();
            Client::builder(TokioExecutor::new()).build_http()
        };
        Ok(Remote {
            base: format!("{}/admin/v1", url.trim_end_matches('/')),
            token,
            runtime,
            client,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let request = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
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
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let code = value["error"].as_str().unwrap_or("error");
            let message = value["message"].as_str().unwrap_or("");
            bail!("server answered {status}: {code}: {message}");
        }
        Ok(value)
    }
}
