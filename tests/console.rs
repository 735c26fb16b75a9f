//! The web console (`/console`) against the real `tessera serve` on
//! loopback: over plain HTTP (headers, cookies, CSRF, escaping, sessions)
//! and in a real browser (headless Chromium over WebDriver): sign in,
//! share a view with a guest, open the link in a fresh browser, revoke,
//! toggle a setting, the visibility and a table's access, and screenshots
//! of the share dialog and the shares; a workspace's lists for its owners;
//! forms across a restart; dead share links as a page or JSON.

mod server;

#[path = "console/access.rs"]
mod access;
#[path = "console/browser.rs"]
mod browser;
#[path = "console/http.rs"]
mod http;
#[path = "console/lasting.rs"]
mod lasting;
#[path = "console/members.rs"]
mod members;
#[path = "console/support.rs"]
mod support;
