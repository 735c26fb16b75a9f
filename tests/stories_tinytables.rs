//! TinyTables' permissions document, story by story, end to end: a real
//! `tessera serve` over loopback HTTP, the registry written only through
//! the admin API, member tokens minted by `POST /admin/v1/members/{user}/tokens`
//! and every data request decided at the forward-auth front door with the
//! default route table. Each assertion is the status and the deny body's
//! `error` code a user of the product would see; an allow also names the
//! member (`X-Tessera-User`, `X-Tessera-Kind: member`).

mod server;
mod stories;

use serde_json::json;

use stories::Act::{Add, Columns, Drop, Edit, Read, Remove};
use stories::{attenuate, Allow, Deny, Product, Story};

const WS: &str = "ws_tt";
const NO: stories::Want = Deny("no_right");

/// The document's team: an owner, an admin, three members and a viewer;
/// a private and a workspace table created by Mia, and a specific-people
/// table of Olivia's naming Ed (editor), Fay (full) and Vic (full, but a
/// viewer).
async fn team() -> Story {
    let s = Story::start(WS).await;
    for (user, role) in [
        ("u_olivia", "owner"),
        ("u_adam", "admin"),
        ("u_mia", "member"),
        ("u_ed", "member"),
        ("u_fay", "member"),
        ("u_vic", "viewer"),
    ] {
        s.member(WS, user, role).await;
    }
    s.table(WS, "t_private", "u_mia").await;
    s.access("t_private", json!({ "mode": "private" })).await;
    s.table(WS, "t_team", "u_mia").await;
    s.access("t_team", json!({ "mode": "workspace" })).await;
    s.table(WS, "t_named", "u_olivia").await;
    s.access(
        "t_named",
        json!({ "mode": "specific", "people": [
            { "user": "u_ed", "level": "editor" },
            { "user": "u_fay", "level": "full" },
            { "user": "u_vic", "level": "full" },
        ] }),
    )
    .await;
    s
}

#[tokio::test]
async fn a_private_table_is_its_creators_and_the_owners_and_admins() {
    let mut s = team().await;
    s.expect_all(&[
        ("u_mia", Read, "t_private", Allow),
        ("u_mia", Edit, "t_private", Allow),
        ("u_mia", Add, "t_private", Allow),
        ("u_mia", Remove, "t_private", Allow),
        ("u_mia", Columns, "t_private", Allow),
        ("u_olivia", Read, "t_private", Allow),
        ("u_olivia", Columns, "t_private", Allow),
        ("u_adam", Read, "t_private", Allow),
        ("u_adam", Remove, "t_private", Allow),
        ("u_ed", Read, "t_private", NO),
        ("u_ed", Edit, "t_private", NO),
        ("u_fay", Add, "t_private", NO),
        ("u_vic", Read, "t_private", NO),
    ])
    .await;
}

#[tokio::test]
async fn a_workspace_table_gives_every_member_its_roles_permissions() {
    let mut s = team().await;
    s.expect_all(&[
        ("u_olivia", Remove, "t_team", Allow),
        ("u_adam", Remove, "t_team", Allow),
        ("u_adam", Columns, "t_team", Allow),
        // A member views and edits the tables shared with it, adds rows,
        // but deletes none without full access.
        ("u_ed", Read, "t_team", Allow),
        ("u_ed", Edit, "t_team", Allow),
        ("u_ed", Add, "t_team", Allow),
        ("u_ed", Remove, "t_team", NO),
        // A viewer only views.
        ("u_vic", Read, "t_team", Allow),
        ("u_vic", Edit, "t_team", NO),
        ("u_vic", Add, "t_team", NO),
        ("u_vic", Remove, "t_team", NO),
        ("u_vic", Columns, "t_team", NO),
    ])
    .await;
}

#[tokio::test]
async fn a_specific_people_table_gives_each_named_person_their_level_and_nobody_else_anything() {
    let mut s = team().await;
    s.expect_all(&[
        // Editor: view, edit rows, add rows; not delete, not columns.
        ("u_ed", Read, "t_named", Allow),
        ("u_ed", Edit, "t_named", Allow),
        ("u_ed", Add, "t_named", Allow),
        ("u_ed", Remove, "t_named", NO),
        ("u_ed", Columns, "t_named", NO),
        // Full access: everything, columns too.
        ("u_fay", Read, "t_named", Allow),
        ("u_fay", Edit, "t_named", Allow),
        ("u_fay", Add, "t_named", Allow),
        ("u_fay", Remove, "t_named", Allow),
        ("u_fay", Columns, "t_named", Allow),
        // Not named: nothing, though a member.
        ("u_mia", Read, "t_named", NO),
        // Owner and admin reach every table.
        ("u_olivia", Edit, "t_named", Allow),
        ("u_adam", Remove, "t_named", Allow),
    ])
    .await;
}

#[tokio::test]
async fn a_viewer_cannot_edit_add_or_delete_rows_even_with_a_full_access_entry() {
    let mut s = team().await;
    s.expect_all(&[
        ("u_vic", Read, "t_named", Allow),
        ("u_vic", Edit, "t_named", NO),
        ("u_vic", Add, "t_named", NO),
        ("u_vic", Remove, "t_named", NO),
        ("u_vic", Columns, "t_named", NO),
        ("u_vic", Drop, "t_named", NO),
    ])
    .await;
    // The same entry on a member gives everything: the role is what caps it.
    s.expect_all(&[("u_fay", Remove, "t_named", Allow)]).await;
}

#[tokio::test]
async fn a_member_token_carries_who_for_twelve_hours_and_never_what() {
    let s = team().await;
    let minted = s.mint("u_ed").await;
    let expires_at = minted["expires_at"].as_str().expect("expires_at");
    let expires_at = chrono::DateTime::parse_from_rfc3339(expires_at).expect("RFC 3339");
    let left = expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    let twelve_hours = chrono::Duration::hours(12);
    let minute = chrono::Duration::minutes(1);
    assert!(
        left <= twelve_hours && left > twelve_hours - minute,
        "{left}"
    );
    // The same token reaches what the registry says, table by table.
    let token = minted["token"].as_str().expect("token");
    s.expect_with(
        token,
        "u_ed",
        &[(Edit, "t_team", Allow), (Read, "t_private", NO)],
    )
    .await;
    // A user the registry does not know gets no member token.
    let (status, got) = s
        .call(None, "POST", "/members/u_nobody/tokens", Some(json!({})))
        .await;
    assert_eq!(
        (status, &got["error"]),
        (400, &json!("unknown_user")),
        "{got}"
    );
}

#[tokio::test]
async fn a_member_creates_a_table_and_as_its_author_sets_its_access() {
    let mut s = team().await;
    let create = format!("/api/v1/workspaces/{WS}/tables");
    s.expect("u_mia", "POST", &create, Allow).await;
    s.expect("u_vic", "POST", &create, NO).await;

    // The host product records the new table with Mia as its creator; a
    // new table is open to the workspace.
    s.table(WS, "t_new", "u_mia").await;
    let (_, got) = s.call(None, "GET", "/tables/t_new/access", None).await;
    assert_eq!(got["mode"], "workspace", "{got}");
    s.expect_all(&[("u_ed", Read, "t_new", Allow)]).await;

    // Another member may not change it, and nothing changes.
    let ed = s.token("u_ed").await;
    let private = json!({ "mode": "private" });
    let (status, got) = s
        .call(Some(&ed), "PUT", "/tables/t_new/access", Some(private))
        .await;
    assert_eq!(
        (status, &got["error"]),
        (403, &json!("not_author_or_admin"))
    );
    s.expect_all(&[("u_ed", Read, "t_new", Allow)]).await;

    // Its author may: she shares it with Fay only, as a viewer.
    let mia = s.token("u_mia").await;
    let fay_views =
        json!({ "mode": "specific", "people": [{ "user": "u_fay", "level": "viewer" }] });
    let (status, got) = s
        .call(Some(&mia), "PUT", "/tables/t_new/access", Some(fay_views))
        .await;
    assert_eq!(status, 200, "{got}");
    let (_, got) = s.call(None, "GET", "/tables/t_new/access", None).await;
    assert_eq!(got["mode"], "specific", "{got}");
    assert_eq!(got["people"][0]["user"], "u_fay", "{got}");
    s.expect_all(&[
        ("u_ed", Read, "t_new", NO),
        ("u_fay", Read, "t_new", Allow),
        ("u_fay", Edit, "t_new", NO),
        ("u_mia", Edit, "t_new", Allow),
    ])
    .await;
}

#[tokio::test]
async fn deleting_a_table_needs_full_access_or_an_admin_role() {
    let mut s = team().await;
    s.expect_all(&[
        ("u_ed", Drop, "t_named", NO),
        ("u_ed", Drop, "t_team", NO),
        ("u_vic", Drop, "t_team", NO),
        ("u_fay", Drop, "t_named", Allow),
        ("u_mia", Drop, "t_private", Allow),
        ("u_adam", Drop, "t_named", Allow),
        ("u_adam", Drop, "t_private", Allow),
        ("u_olivia", Drop, "t_team", Allow),
    ])
    .await;
}

#[tokio::test]
async fn a_locked_view_lets_everyone_read_it_and_nobody_change_its_configuration() {
    let mut s = team().await;
    s.view(WS, "t_team", "v_dashboard", json!({ "locked": true }))
        .await;
    s.view(WS, "t_team", "v_draft", json!({})).await;
    let rows = "/api/v1/views/v_dashboard/rows";
    let config = "/api/v1/views/v_dashboard/config";
    for user in ["u_olivia", "u_adam", "u_mia", "u_ed", "u_vic"] {
        s.expect(user, "GET", rows, Allow).await;
    }
    for user in ["u_olivia", "u_adam", "u_mia", "u_ed"] {
        s.expect(user, "PATCH", config, Deny("view_setting")).await;
    }
    // The lock is what refuses: the same member arranges an unlocked view,
    // and the locked one as soon as it is unlocked.
    s.expect("u_ed", "PATCH", "/api/v1/views/v_draft/config", Allow)
        .await;
    let unlock = json!({ "settings": { "locked": false } });
    s.admin_ok("PUT", "/views/v_dashboard", Some(unlock)).await;
    s.expect("u_ed", "PATCH", config, Allow).await;
}

#[tokio::test]
async fn a_member_hands_a_script_a_read_only_copy_of_its_token() {
    let mut s = team().await;
    let ed = s.token("u_ed").await;
    let script = attenuate(&ed, &["--allow", "read"]);
    let narrowed = Deny("check_failed");
    s.expect_with(
        &script,
        "u_ed",
        &[
            (Read, "t_named", Allow),
            (Edit, "t_named", narrowed),
            (Add, "t_named", narrowed),
            (Remove, "t_named", narrowed),
            // Never past Ed's own access.
            (Read, "t_private", NO),
        ],
    )
    .await;
    // Ed's own token is unchanged.
    s.expect_all(&[("u_ed", Edit, "t_named", Allow)]).await;

    // Narrowed to one table, it reads nothing else.
    let one_table = attenuate(&ed, &["--allow", "read", "--table", "t_named"]);
    let cases = [(Read, "t_named", Allow), (Read, "t_team", narrowed)];
    s.expect_with(&one_table, "u_ed", &cases).await;
}

// -------------------------------------------- every change, next request

#[tokio::test]
async fn a_role_change_applies_on_the_very_next_request() {
    let mut s = team().await;
    s.expect_all(&[("u_ed", Edit, "t_team", Allow)]).await;
    s.role(WS, "u_ed", "viewer").await;
    s.expect_all(&[
        ("u_ed", Edit, "t_team", NO),
        ("u_ed", Read, "t_team", Allow),
    ])
    .await;
    s.role(WS, "u_ed", "admin").await;
    s.expect_all(&[("u_ed", Read, "t_private", Allow)]).await;
}

#[tokio::test]
async fn removal_from_the_workspace_denies_everything_on_the_very_next_request() {
    let mut s = team().await;
    let create = format!("/api/v1/workspaces/{WS}/tables");
    s.expect_all(&[("u_fay", Remove, "t_named", Allow)]).await;
    s.expect("u_fay", "POST", &create, Allow).await;
    s.remove(WS, "u_fay").await;
    s.expect_all(&[
        ("u_fay", Remove, "t_named", NO),
        ("u_fay", Read, "t_named", NO),
        ("u_fay", Read, "t_team", NO),
    ])
    .await;
    s.expect("u_fay", "POST", &create, NO).await;
    s.expect("u_fay", "GET", &format!("/api/v1/workspaces/{WS}"), NO)
        .await;
}

#[tokio::test]
async fn a_table_access_change_applies_on_the_very_next_request() {
    let mut s = team().await;
    s.expect_all(&[("u_ed", Read, "t_team", Allow)]).await;
    s.access("t_team", json!({ "mode": "private" })).await;
    s.expect_all(&[
        ("u_ed", Read, "t_team", NO),
        ("u_mia", Read, "t_team", Allow),
    ])
    .await;
    let ed_edits = json!({ "mode": "specific", "people": [{ "user": "u_ed", "level": "editor" }] });
    s.access("t_team", ed_edits).await;
    s.expect_all(&[
        ("u_ed", Edit, "t_team", Allow),
        ("u_vic", Read, "t_team", NO),
    ])
    .await;
    // Shared with a group too: its members get the group's level.
    s.group(WS, "g_ops", &["u_fay"]).await;
    let with_ops = json!({ "mode": "specific", "people": [
        { "user": "u_ed", "level": "editor" },
        { "group": "g_ops", "level": "viewer" },
    ] });
    s.access("t_team", with_ops).await;
    s.expect_all(&[
        ("u_fay", Read, "t_team", Allow),
        ("u_fay", Edit, "t_team", NO),
        ("u_ed", Edit, "t_team", Allow),
    ])
    .await;
}

// ------------------------------------------------ through the reverse proxy

#[tokio::test]
async fn through_the_reverse_proxy_only_what_a_member_may_do_reaches_the_product() {
    let product = Product::start().await;
    let mut s = Story::start_with(WS, &["--upstream", &product.url]).await;
    s.member(WS, "u_ed", "member").await;
    s.member(WS, "u_vic", "viewer").await;
    s.table(WS, "t_team", "u_ed").await;
    let row = "/api/v1/tables/t_team/rows/r_1";
    assert_eq!(s.send("u_ed", "PATCH", row).await, (200, None));
    assert_eq!(s.send("u_vic", "GET", row).await, (200, None));
    let refused = (403, Some("no_right".to_owned()));
    assert_eq!(s.send("u_vic", "PATCH", row).await, refused);
    // Ed, the table's author, deletes rows until he is made a viewer.
    assert_eq!(s.send("u_ed", "DELETE", row).await, (200, None));
    s.role(WS, "u_ed", "viewer").await;
    assert_eq!(s.send("u_ed", "DELETE", row).await, refused);
    // The product saw who asked, and nothing it was not meant to.
    let seen = [
        format!("PATCH {row} as u_ed"),
        format!("GET {row} as u_vic"),
        format!("DELETE {row} as u_ed"),
    ];
    assert_eq!(product.seen(), seen);
}
