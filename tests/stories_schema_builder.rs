//! Schema Builder's schema permissions document, story by story, end to
//! end: a real `tessera serve` over loopback HTTP, the registry written only
//! through the admin API (permissions in Schema Builder's words, `PUT
//! /admin/v1/tables/{t}/permissions`), member tokens minted by the admin
//! API, every data request decided at the forward-auth front door with the
//! default route table. A schema is a table, its records are rows: editing
//! the structure is `PATCH /api/v1/tables/{t}/columns` (manage), adding a
//! record `POST …/rows` (create), editing one `PATCH …/rows/{r}` (write),
//! deleting one `DELETE …/rows/{r}` (delete), deleting the schema `DELETE
//! /api/v1/tables/{t}` (drop).

mod server;
mod stories;

use serde_json::{json, Value};

use stories::Act::{Add, Columns, Drop, Edit, Read, Remove};
use stories::{Allow, Deny, Story};

const WS: &str = "ws_sb";
const NO: stories::Want = Deny("no_right");

/// Ana authors every schema; Ari is the workspace admin; Bob and Fin are
/// members, Fin in the finance group.
async fn data_management() -> Story {
    let s = Story::start(WS).await;
    for (user, role) in [
        ("u_author", "member"),
        ("u_admin", "admin"),
        ("u_bob", "member"),
        ("u_fin", "member"),
    ] {
        s.member(WS, user, role).await;
    }
    s.group(WS, "g_finance", &["u_fin"]).await;
    s
}

/// A schema by Ana with these general (`schema`) and record permissions.
async fn schema(s: &Story, table: &str, structure: Value, records: Value) {
    s.table(WS, table, "u_author").await;
    let body = json!({ "schema": structure, "records": records });
    s.permissions(table, body).await;
}

fn mode(m: &str) -> Value {
    json!({ "mode": m })
}

/// A restricted scope with user and group entries.
fn restricted(users: &[(&str, &[&str])], groups: &[(&str, &[&str])]) -> Value {
    let entries = |list: &[(&str, &[&str])]| -> Vec<Value> {
        list.iter()
            .map(|(id, p)| json!({ "id": id, "permissions": p }))
            .collect()
    };
    json!({ "mode": "restricted", "users": entries(users), "groups": entries(groups) })
}

#[tokio::test]
async fn each_general_schema_permission_decides_who_edits_the_structure() {
    let mut s = data_management().await;
    let public = || mode("public");
    schema(&s, "t_s_private", mode("private"), public()).await;
    schema(&s, "t_s_public", mode("public"), public()).await;
    schema(&s, "t_s_read_only", mode("read-only"), public()).await;
    let bob_edits = restricted(&[("u_bob", &["read", "edit"])], &[]);
    schema(&s, "t_s_restricted", bob_edits, public()).await;
    s.expect_all(&[
        // Private: viewable and editable by its author (and the admin).
        ("u_bob", Columns, "t_s_private", NO),
        ("u_author", Columns, "t_s_private", Allow),
        ("u_admin", Columns, "t_s_private", Allow),
        // Public (the default): every user edits the schema.
        ("u_bob", Columns, "t_s_public", Allow),
        ("u_fin", Columns, "t_s_public", Allow),
        // Read-only: only the author edits it.
        ("u_bob", Columns, "t_s_read_only", NO),
        ("u_author", Columns, "t_s_read_only", Allow),
        // Restricted: the entries decide; no entry, nothing.
        ("u_bob", Columns, "t_s_restricted", Allow),
        ("u_fin", Columns, "t_s_restricted", NO),
        // Deleting a schema is its author's or the admin's, whatever its mode.
        ("u_bob", Drop, "t_s_public", NO),
        ("u_author", Drop, "t_s_public", Allow),
        ("u_admin", Drop, "t_s_read_only", Allow),
    ])
    .await;
}

#[tokio::test]
async fn each_record_permission_decides_who_sees_and_adds_records() {
    let mut s = data_management().await;
    let public = || mode("public");
    schema(&s, "t_r_private", public(), mode("private")).await;
    schema(&s, "t_r_public", public(), mode("public")).await;
    schema(&s, "t_r_read_only", public(), mode("read-only")).await;
    let bob_adds = restricted(&[("u_bob", &["read", "execute"])], &[]);
    schema(&s, "t_r_restricted", public(), bob_adds).await;
    s.expect_all(&[
        // Private: records are not visible to others; only the author adds.
        ("u_bob", Read, "t_r_private", NO),
        ("u_bob", Add, "t_r_private", NO),
        ("u_author", Read, "t_r_private", Allow),
        ("u_author", Add, "t_r_private", Allow),
        ("u_admin", Read, "t_r_private", Allow),
        // Public: all users view, add and edit records.
        ("u_bob", Read, "t_r_public", Allow),
        ("u_bob", Add, "t_r_public", Allow),
        ("u_bob", Edit, "t_r_public", Allow),
        ("u_bob", Remove, "t_r_public", NO),
        // Read-only: only the author adds; all others view.
        ("u_bob", Read, "t_r_read_only", Allow),
        ("u_bob", Add, "t_r_read_only", NO),
        ("u_bob", Edit, "t_r_read_only", NO),
        ("u_author", Add, "t_r_read_only", Allow),
        // Restricted: read + execute views and adds, nothing more.
        ("u_bob", Read, "t_r_restricted", Allow),
        ("u_bob", Add, "t_r_restricted", Allow),
        ("u_bob", Edit, "t_r_restricted", NO),
        ("u_bob", Remove, "t_r_restricted", NO),
        ("u_fin", Read, "t_r_restricted", NO),
    ])
    .await;
}

/// The finance ledger: records restricted, Fin's own entry (edit, delete)
/// and the finance group's (read); Bob, in no group, has the same
/// individual entry plus read.
async fn ledger(s: &Story) {
    let records = restricted(
        &[
            ("u_fin", &["edit", "delete"]),
            ("u_bob", &["read", "edit", "delete"]),
        ],
        &[("g_finance", &["read"])],
    );
    schema(s, "t_ledger", mode("read-only"), records).await;
}

#[tokio::test]
async fn a_finance_groups_entry_applies_over_a_members_own_entry() {
    let mut s = data_management().await;
    ledger(&s).await;
    s.expect_all(&[
        // "The user group permissions are applicable then": Fin reads
        // (the group's read, which his own entry lacks) and neither edits
        // nor deletes (which only his own entry gives). Baserow would take
        // the individual entry; this pins the document's rule.
        ("u_fin", Read, "t_ledger", Allow),
        ("u_fin", Edit, "t_ledger", NO),
        ("u_fin", Remove, "t_ledger", NO),
        ("u_fin", Add, "t_ledger", NO),
        // In no group, Bob's own entry applies.
        ("u_bob", Read, "t_ledger", Allow),
        ("u_bob", Edit, "t_ledger", Allow),
        ("u_bob", Remove, "t_ledger", Allow),
    ])
    .await;
}

#[tokio::test]
async fn a_group_membership_change_applies_on_the_very_next_request() {
    let mut s = data_management().await;
    ledger(&s).await;
    s.expect_all(&[("u_bob", Edit, "t_ledger", Allow)]).await;
    // Bob joins finance: the group's entry applies to him now.
    s.group(WS, "g_finance", &["u_fin", "u_bob"]).await;
    s.expect_all(&[
        ("u_bob", Edit, "t_ledger", NO),
        ("u_bob", Read, "t_ledger", Allow),
    ])
    .await;
    // He leaves it: his own entry applies again.
    s.group(WS, "g_finance", &["u_fin"]).await;
    s.expect_all(&[("u_bob", Remove, "t_ledger", Allow)]).await;
    // Fin leaves it too: his own entry (edit, delete, no read) applies.
    s.group(WS, "g_finance", &[]).await;
    s.expect_all(&[
        ("u_fin", Edit, "t_ledger", Allow),
        ("u_fin", Read, "t_ledger", NO),
    ])
    .await;
}

#[tokio::test]
async fn only_the_author_or_a_workspace_admin_may_change_permissions() {
    let mut s = data_management().await;
    schema(&s, "t_perm", mode("public"), mode("public")).await;
    let path = "/tables/t_perm/permissions";
    let private = json!({ "schema": mode("private"), "records": mode("private") });

    // Another member, whatever the schema's mode lets him do: refused, and
    // nothing changes.
    let bob = s.token("u_bob").await;
    let (status, got) = s.call(Some(&bob), "PUT", path, Some(private.clone())).await;
    assert_eq!(
        (status, &got["error"]),
        (403, &json!("not_author_or_admin"))
    );
    let (_, got) = s.call(None, "GET", path, None).await;
    assert_eq!(got["records"]["mode"], "public", "{got}");
    s.expect_all(&[("u_bob", Read, "t_perm", Allow)]).await;

    // The author may: the next request sees it.
    let ana = s.token("u_author").await;
    let (status, got) = s.call(Some(&ana), "PUT", path, Some(private)).await;
    assert_eq!(status, 200, "{got}");
    s.expect_all(&[("u_bob", Read, "t_perm", NO)]).await;

    // So may the workspace admin, who is not the author.
    let ari = s.token("u_admin").await;
    let read_only = json!({ "schema": mode("read-only"), "records": mode("read-only") });
    let (status, got) = s.call(Some(&ari), "PUT", path, Some(read_only)).await;
    assert_eq!(status, 200, "{got}");
    let (_, got) = s.call(None, "GET", path, None).await;
    assert_eq!(got["schema"]["mode"], "read-only", "{got}");
    assert_eq!(got["records"]["mode"], "read-only", "{got}");
    s.expect_all(&[
        ("u_bob", Read, "t_perm", Allow),
        ("u_bob", Add, "t_perm", NO),
    ])
    .await;

    // TinyTables' words are held to the same rule.
    let open = json!({ "mode": "workspace" });
    let (status, got) = s
        .call(Some(&bob), "PUT", "/tables/t_perm/access", Some(open))
        .await;
    assert_eq!(
        (status, &got["error"]),
        (403, &json!("not_author_or_admin"))
    );
    s.expect_all(&[("u_bob", Add, "t_perm", NO)]).await;
}
