//! The console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver on a loopback port) against `tessera serve` proxying to a
//! loopback upstream. One story, as an operator and a guest live it, in two
//! browsers with separate profiles: sharing, revoking, a setting, the
//! visibility and a table's access clicked.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use super::server::{client, Server};
use super::support::{seeded, Driver, Origin};

type Step<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where the screenshots go: `target/console-screenshots/`, never committed.
fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("console-screenshots"))
        .unwrap_or_else(|| PathBuf::from("target/console-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn find(c: &Client, css: &str) -> Step<fantoccini::elements::Element> {
    Ok(c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await?)
}

/// Clicks what submits a form or follows a link, and waits until the browser
/// has left the page it was on. Without the wait, a later `find` can match
/// the old page's element (a `.notice` from the last change, say), which the
/// new page then makes stale.
async fn click_away(c: &Client, css: &str) -> Step<()> {
    c.execute("window.tesseraLeft = false;", vec![]).await?;
    find(c, css).await?.click().await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // While the browser navigates a script may fail; ask again.
        let here = c
            .execute("return window.tesseraLeft === false;", vec![])
            .await;
        if matches!(here, Ok(Value::Bool(false))) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("clicking {css} never left the page").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn body_text(c: &Client) -> Step<String> {
    Ok(find(c, "body").await?.text().await?)
}

/// The `error` code of the JSON error page the browser shows.
async fn json_error(c: &Client) -> Step<String> {
    let text = body_text(c).await?;
    let v: Value = serde_json::from_str(text.trim())?;
    Ok(v["error"].as_str().unwrap_or_default().to_owned())
}

async fn admin_view(s: &Server) -> Value {
    client()
        .get(s.url("/admin/v1/views/v_1"))
        .bearer_auth(s.admin_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_link_made_in_the_console_opens_is_revoked_and_loses_export() {
    let driver = Driver::start().await;
    let elsewhere = Origin::start(|_| "probe".to_owned()).await;
    // Another origin: another port, and another host name, so that the
    // gateway's cookies (scoped to 127.0.0.1, every port) are not its.
    let probe = format!(
        "{}/probe.png",
        elsewhere.url.replace("127.0.0.1", "localhost")
    );
    let upstream = Origin::start(move |path| {
        if path.ends_with("/export") {
            "export ok".to_owned()
        } else {
            format!(
                "<!doctype html><title>Guest view</title><h1 id=\"guest-view\">Guest view {path}</h1>\
                 <img id=\"probe\" src=\"{probe}\" alt=\"\">"
            )
        }
    })
    .await;
    let s = seeded(&["--upstream", &upstream.url]).await;
    let admin = driver.browser("admin").await;
    let guest = driver.browser("guest").await;
    let story = story(&s, &admin, &guest, &elsewhere).await;
    let _ = admin.close().await;
    let _ = guest.close().await;
    if let Err(e) = story {
        panic!("{e}\nserver log:\n{}", s.logs());
    }
}

async fn story(s: &Server, admin: &Client, guest: &Client, elsewhere: &Origin) -> Step<()> {
    let token = s.admin_token();
    // Sign in from the keyboard: the token typed, Enter.
    admin.goto(&s.url("/console")).await?;
    let field = find(admin, "#token").await?;
    field.send_keys(&token).await?;
    field.send_keys("\u{E007}").await?;
    click_away(admin, "a[href='/console/workspaces/ws_1']").await?;
    click_away(admin, "a[href='/console/views/v_1']").await?;
    find(admin, "#share-form").await?;
    // The token is in no page, no storage, no script-readable cookie.
    assert!(!admin.source().await?.contains(&token));
    let readable = admin
        .execute(
            "return [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)];",
            vec![],
        )
        .await?;
    assert_eq!(readable, json!(["", "{}", "{}"]));
    assert!(!admin.current_url().await?.as_str().contains(&token));

    // Share with guest: the editor preset, 7 days, a label with a script.
    let in_a_week = (Utc::now() + chrono::Duration::days(7)).date_naive();
    let label = "<script>window.pwned = 1</script> for Ana";
    find(admin, "#preset-editor").await?.click().await?;
    admin
        .execute(
            "document.getElementById('expires').value = arguments[0];",
            vec![json!(in_a_week.format("%Y-%m-%d").to_string())],
        )
        .await?;
    find(admin, "#label").await?.send_keys(label).await?;
    let dialog = find(admin, "#share-dialog").await?.screenshot().await?;
    std::fs::write(screenshots().join("share-dialog.png"), dialog)?;
    click_away(admin, "#create-share").await?;
    let link = find(admin, "#share-link")
        .await?
        .prop("value")
        .await?
        .ok_or("no share link")?;
    let token_id = find(admin, "#token-id").await?.text().await?;
    assert!(link.starts_with(&format!("{}/s/", s.base)), "{link}");
    assert_eq!(find(admin, "#share-label").await?.text().await?, label);
    assert_eq!(
        find(admin, "#share-permissions").await?.text().await?,
        "read, write, create"
    );
    assert!(find(admin, "#share-expires")
        .await?
        .text()
        .await?
        .starts_with(&in_a_week.format("%Y-%m-%d").to_string()));
    assert_eq!(
        admin
            .execute("return window.pwned === undefined;", vec![])
            .await?,
        json!(true)
    );
    find(admin, "#copy-link").await?.click().await?;

    // The guest, in a browser of their own, opens the link.
    guest.goto(&link).await?;
    find(guest, "#guest-view").await?;
    assert_eq!(guest.current_url().await?.as_str(), s.url("/views/v_1"));
    let session = guest.get_named_cookie("tessera_session").await?;
    assert_eq!(session.http_only(), Some(true), "{session:?}");
    assert_eq!(
        guest.execute("return document.cookie;", vec![]).await?,
        json!("")
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while elsewhere.requests("/probe.png").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the page's image never reached the other origin"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let share_token = link.rsplit_once("/s/").map(|(_, t)| t).unwrap_or_default();
    for (_, head) in elsewhere.requests("/probe.png") {
        assert!(!head.contains(&share_token.to_ascii_lowercase()), "{head}");
        let referer = head.lines().find(|l| l.starts_with("referer:"));
        assert!(referer.is_none_or(|r| !r.contains("/s/")), "{head}");
    }

    // The share is in the view's list; revoke it with its confirmation.
    admin.goto(&s.url("/console/views/v_1")).await?;
    let row = format!("tr[data-token-id='{token_id}']");
    assert_eq!(
        find(admin, &format!("{row} .state")).await?.text().await?,
        "active"
    );
    assert_eq!(
        find(admin, &format!("{row} .label")).await?.text().await?,
        label
    );
    let list = find(admin, "#shares").await?.screenshot().await?;
    std::fs::write(screenshots().join("active-shares.png"), list)?;
    click_away(admin, &format!("{row} a.revoke")).await?;
    click_away(admin, "#confirm").await?;
    find(admin, ".notice").await?;
    assert_eq!(
        find(admin, &format!("{row} .state")).await?.text().await?,
        "revoked"
    );
    assert!(admin
        .find(Locator::Css(&format!("{row} a.revoke")))
        .await
        .is_err());

    // The guest's next request is refused; the link lands on the readable page.
    guest.refresh().await?;
    assert_eq!(json_error(guest).await?, "revoked");
    guest.goto(&link).await?;
    let gone = find(guest, "#link-gone").await?.text().await?;
    assert!(gone.contains("This link no longer works"), "{gone}");

    // An auditor link exports until exportable is turned off.
    admin.goto(&s.url("/console/views/v_1")).await?;
    find(admin, "#preset-auditor").await?.click().await?;
    click_away(admin, "#create-share").await?;
    let auditor = find(admin, "#share-link")
        .await?
        .prop("value")
        .await?
        .ok_or("no link")?;
    guest.goto(&auditor).await?;
    find(guest, "#guest-view").await?;
    guest.goto(&s.url("/api/v1/views/v_1/export")).await?;
    assert_eq!(body_text(guest).await?, "export ok");
    admin.goto(&s.url("/console/views/v_1")).await?;
    click_away(admin, "#toggle-exportable").await?;
    find(admin, ".notice").await?;
    assert_eq!(
        find(admin, "tr[data-setting='exportable'] .value")
            .await?
            .text()
            .await?,
        "off"
    );
    guest.refresh().await?;
    assert_eq!(json_error(guest).await?, "view_setting");

    // The visibility and a table's access, clicked: the admin API holds them.
    find(admin, "#visibility-locked").await?.click().await?;
    click_away(admin, "#set-visibility").await?;
    find(admin, ".notice").await?;
    assert_eq!(find(admin, "#visibility").await?.text().await?, "locked");
    assert_eq!(admin_view(s).await["visibility"], "locked");
    admin.goto(&s.url("/console/workspaces/ws_1")).await?;
    click_away(admin, "#access-t_1-private").await?;
    find(admin, ".notice").await?;
    let mode = find(admin, "[data-table='t_1'] .access-mode").await?;
    assert_eq!(mode.text().await?, "private");
    let access: Value = client()
        .get(s.url("/admin/v1/tables/t_1/access"))
        .bearer_auth(s.admin_token())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(access["mode"], "private");
    let page = find(admin, "main").await?.screenshot().await?;
    std::fs::write(screenshots().join("workspace-access.png"), page)?;
    admin.goto(&s.url("/console/views/v_1")).await?;

    // A form stripped of its CSRF token is refused, and changes nothing.
    admin
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(function (e) { e.remove(); });",
            vec![],
        )
        .await?;
    let before = admin_view(s).await;
    click_away(admin, "#toggle-editable").await?;
    assert_eq!(find(admin, "#reason").await?.text().await?, "csrf_missing");
    assert_eq!(admin_view(s).await, before);

    // Sign out: the session cookie is gone, the console asks to sign in.
    admin.goto(&s.url("/console")).await?;
    click_away(admin, "nav button").await?;
    find(admin, "#sign-in").await?;
    assert!(admin.get_named_cookie("tessera_console").await.is_err());
    Ok(())
}
