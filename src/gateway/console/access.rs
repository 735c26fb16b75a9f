//! The console's visibility and table access forms: a view's visibility
//! (`personal`, `shared`, `locked`) through `PUT /admin/v1/views/{id}`,
//! and a table's access (TinyTables' `private`, `workspace`, `specific`
//! people) read with `GET` and changed with `PUT /admin/v1/tables/{t}/access`
//! (the admin token's, or an owner's or admin's member token; the named
//! people of `specific` are kept as they are).

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::api::{AccessInfo, ViewBody, ViewInfo};
use crate::model::access::vocab::{ShareMode, ShareSettings};
use crate::model::{Id, Visibility};

use super::render::{error_page, missing, see_other};
use super::session::{posted_for, refusal, Signed};
use super::Console;

/// The words of the visibilities the view page offers, in order.
pub(super) fn visibilities() -> Vec<&'static str> {
    Visibility::ALL.iter().map(|v| v.as_str()).collect()
}

/// The access modes the workspace page offers, in order.
pub(super) const MODES: [&str; 3] = ["private", "workspace", "specific"];

fn mode_word(mode: ShareMode) -> &'static str {
    match mode {
        ShareMode::Private => "private",
        ShareMode::Workspace => "workspace",
        ShareMode::Specific => "specific",
    }
}

fn mode_of(word: &str) -> Option<ShareMode> {
    match word {
        "private" => Some(ShareMode::Private),
        "workspace" => Some(ShareMode::Workspace),
        "specific" => Some(ShareMode::Specific),
        _ => None,
    }
}

/// A table's access as the workspace page shows it: its mode and how many
/// people it names, or the admin API's code when it refuses to say.
#[derive(Debug, Default, Serialize)]
pub(super) struct TableAccessRow {
    mode: Option<&'static str>,
    people: usize,
    refused: Option<String>,
}

/// `table`'s access, through `GET /admin/v1/tables/{table}/access`.
pub(super) async fn table_access(console: &Console, signed: &Signed, table: &Id) -> TableAccessRow {
    let path = format!("/tables/{table}/access");
    match console.get::<AccessInfo>(signed.token(), &path).await {
        Ok(info) => TableAccessRow {
            mode: Some(mode_word(info.settings.mode)),
            people: info.settings.people.len(),
            refused: None,
        },
        Err(r) => TableAccessRow {
            refused: Some(r.code),
            ..TableAccessRow::default()
        },
    }
}

/// The visibility form.
#[derive(Deserialize)]
pub(super) struct VisibilityForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    visibility: String,
}

/// `POST /console/views/{view}/visibility`: `personal`, `shared` or
/// `locked` through `PUT /admin/v1/views/{view}` `{visibility}` (the
/// admin API's code when it refuses, e.g. `creator_required` for a
/// personal view with no creator); back to the view's page.
pub(super) async fn set_visibility(
    State(console): State<Console>,
    Path(view): Path<String>,
    headers: HeaderMap,
    Form(form): Form<VisibilityForm>,
) -> Response {
    let (signed, view) = match posted_for(&console, &headers, form.csrf.as_deref(), &view).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(visibility) = Visibility::from_word(&form.visibility) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "unknown_visibility",
            "A view is personal, shared or locked.",
        );
    };
    let body = ViewBody {
        visibility: Some(visibility.as_str().to_owned()),
        ..ViewBody::default()
    };
    let path = format!("/views/{view}");
    match console
        .call::<ViewInfo>(signed.token(), Method::PUT, &path, Some(&body))
        .await
    {
        Ok(_) => see_other(&format!("/console/views/{view}?done=visibility")),
        Err(r) => refusal(&console, &headers, r).await,
    }
}

/// The table access form.
#[derive(Deserialize)]
pub(super) struct AccessForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    mode: String,
}

/// `POST /console/tables/{table}/access`: the table's mode through
/// `PUT /admin/v1/tables/{table}/access`, the people it names kept for
/// `specific` (read first with `GET`); back to its workspace's page.
pub(super) async fn set_access(
    State(console): State<Console>,
    Path(table): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AccessForm>,
) -> Response {
    let (signed, table) = match posted_for(&console, &headers, form.csrf.as_deref(), &table).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(workspace) = console.gw.registry().tables.get(&table).cloned() else {
        return missing();
    };
    if !signed.sees(&console, &workspace) {
        return missing();
    }
    let Some(mode) = mode_of(&form.mode) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "unknown_mode",
            "A table is private, open to the workspace, or shared with specific people.",
        );
    };
    let path = format!("/tables/{table}/access");
    let current = match console.get::<AccessInfo>(signed.token(), &path).await {
        Ok(info) => info,
        Err(r) => return refusal(&console, &headers, r).await,
    };
    let mut settings = ShareSettings::from_mode(mode);
    if mode == ShareMode::Specific {
        settings.people = current.settings.people;
    }
    match console
        .call::<AccessInfo>(signed.token(), Method::PUT, &path, Some(&settings))
        .await
    {
        Ok(_) => see_other(&format!("/console/workspaces/{workspace}?done=access")),
        Err(r) => refusal(&console, &headers, r).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_words_are_the_admin_apis() {
        assert_eq!(visibilities(), ["personal", "shared", "locked"]);
        for word in MODES {
            assert_eq!(mode_of(word).map(mode_word), Some(word));
        }
        assert_eq!(mode_of("public"), None);
        let body = serde_json::to_value(ShareSettings::from_mode(ShareMode::Workspace)).unwrap();
        assert_eq!(body["mode"], "workspace");
    }
}
