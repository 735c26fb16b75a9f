//! The console's browsing pages: the workspace list (home), a workspace
//! with its tables and views, a view with its settings (toggled through
//! `PUT /admin/v1/views/{id}`), its share form and its shares.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::api::{ViewBody, ViewInfo};
use crate::model::{Id, ViewSettings};

use super::access::{table_access, visibilities, TableAccessRow, MODES};
use super::render::{error_page, missing, page, see_other};
use super::session::{posted_for, refusal, signed_for, signed_in};
use super::share_list::{listed, listed_for_view, Back};
use super::Console;

/// What a page says after a change it redirected from (`?done=`).
#[derive(Deserialize, Default)]
pub(super) struct Done {
    #[serde(default)]
    done: Option<String>,
}

impl Done {
    /// The fixed sentence for a known `done` word.
    pub(super) fn message(&self) -> Option<&'static str> {
        match self.done.as_deref()? {
            "settings" => Some("The view's settings were changed."),
            "visibility" => Some("The view's visibility was changed."),
            "access" => Some("The table's access was changed."),
            "revoked" => Some("The share was revoked: its link no longer works."),
            "revoked_all" => Some("Every link of this view was revoked."),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct WorkspaceRow {
    id: String,
    name: Option<String>,
    tables: usize,
}

/// `GET /console`: the workspaces the caller may manage, or the sign-in page.
pub(super) async fn home(State(console): State<Console>, headers: HeaderMap) -> Response {
    let signed = match signed_in(&console, &headers).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let registry = console.gw.registry();
    let workspaces: Vec<WorkspaceRow> = registry
        .workspaces
        .iter()
        .filter(|ws| signed.sees(&console, ws))
        .map(|ws| WorkspaceRow {
            id: ws.to_string(),
            name: registry.workspace_names.get(ws).cloned(),
            tables: registry.tables.values().filter(|w| *w == ws).count(),
        })
        .collect();
    let r = page(
        StatusCode::OK,
        "workspaces.html",
        minijinja::context! { title => "Workspaces", signed_in => true, csrf => signed.csrf.token(), workspaces },
    );
    signed.finish(&console, r)
}

#[derive(Serialize)]
struct TableRow {
    id: String,
    access: TableAccessRow,
    views: Vec<ViewRow>,
}

#[derive(Serialize)]
struct ViewRow {
    id: String,
    settings: Vec<(&'static str, bool)>,
}

/// `GET /console/workspaces/{ws}`: its tables with their access and
/// views, and the shares of all its views
/// (`GET /admin/v1/workspaces/{ws}/shares`, the admin token's and the
/// workspace's owners' and admins').
pub(super) async fn workspace(
    State(console): State<Console>,
    Path(ws): Path<String>,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let (signed, ws) = match signed_for(&console, &headers, &ws).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let registry = console.gw.registry();
    if !registry.workspaces.contains(&ws) || !signed.sees(&console, &ws) {
        return missing();
    }
    let mut tables = Vec::new();
    for (t, _) in registry.tables.iter().filter(|(_, w)| **w == ws) {
        let views = registry
            .views
            .iter()
            .filter(|(_, v)| v.table == *t)
            .map(|(v, entry)| ViewRow {
                id: v.to_string(),
                settings: entry.settings.entries().to_vec(),
            })
            .collect();
        tables.push(TableRow {
            id: t.to_string(),
            access: table_access(&console, &signed, t).await,
            views,
        });
    }
    let (shares, refused) = match listed(&console, &signed, &headers, &ws).await {
        Ok(listed) => listed,
        Err(page) => return page,
    };
    let r = page(
        StatusCode::OK,
        "workspace.html",
        minijinja::context! {
            title => format!("Workspace {ws}"), signed_in => true, csrf => signed.csrf.token(),
            id => ws.as_str(), name => registry.workspace_names.get(&ws), tables, shares,
            shares_refused => refused, back => Back::Workspace(ws.clone()).to_string(),
            done => done.message(), modes => MODES,
        },
    );
    signed.finish(&console, r)
}

/// `GET /console/views/{view}`: settings with toggles, the public link,
/// the share form and the view's shares.
pub(super) async fn view(
    State(console): State<Console>,
    Path(view): Path<String>,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let (signed, view) = match signed_for(&console, &headers, &view).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some((info, workspace)) = signed.view(&console, &view) else {
        return missing();
    };
    let (shares, refused) = match listed_for_view(&console, &signed, &headers, &view).await {
        Ok(listed) => listed,
        Err(page) => return page,
    };
    let public_link = info.settings.public.then(|| {
        format!(
            "{}{}",
            console.gw.share_base(),
            console
                .gw
                .config()
                .view_page
                .replace("{view}", view.as_str())
        )
    });
    let r = page(
        StatusCode::OK,
        "view.html",
        minijinja::context! {
            title => format!("View {view}"), signed_in => true, csrf => signed.csrf.token(),
            id => view.as_str(), table => info.table.as_str(), workspace => workspace.as_str(),
            settings => info.settings.entries().to_vec(), public_link, shares,
            visibility => info.visibility.as_str(), visibilities => visibilities(),
            creator => info.creator.as_ref().map(Id::as_str),
            shares_refused => refused, back => Back::View(view.clone()).to_string(),
            done => done.message(),
        },
    );
    signed.finish(&console, r)
}

/// The settings toggle form.
#[derive(Deserialize)]
pub(super) struct ToggleForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    setting: String,
    #[serde(default)]
    value: String,
}

/// `POST /console/views/{view}/settings`: one setting on or off, through
/// `PUT /admin/v1/views/{view}`; back to the view's page.
pub(super) async fn toggle(
    State(console): State<Console>,
    Path(view): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ToggleForm>,
) -> Response {
    let (signed, view) = match posted_for(&console, &headers, form.csrf.as_deref(), &view).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(name) = ViewSettings::NAMES.iter().find(|n| **n == form.setting) else {
        return error_page(StatusCode::BAD_REQUEST, "bad_request", "No such setting.");
    };
    let value = match form.value.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "A setting is on or off.",
            )
        }
    };
    let body = ViewBody::new(None, &[(name, value)]);
    match console
        .call::<ViewInfo>(
            signed.token(),
            Method::PUT,
            &format!("/views/{view}"),
            Some(&body),
        )
        .await
    {
        Ok(_) => see_other(&format!("/console/views/{view}?done=settings")),
        Err(r) => refusal(&console, &headers, r).await,
    }
}
