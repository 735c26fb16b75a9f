//! The web console (`/console`) against the real `tessera serve` on
//! loopback: over plain HTTP (headers, cookies, CSRF, escaping, sessions)
//! and in a real browser (headless Chromium over WebDriver): sign in,
//! share a view with a guest, open the link in a fresh browser, revoke,
//! toggle a setting, and screenshots of the share dialog and the shares.

mod server;

#[path = "console/browser.rs"]
mod browser;
#[path = "console/http.rs"]
mod http;
#[path = "console/support.rs"]
mod support;
