//! The busy doors are answered before the router: only `/auth` exactly and
//! `/auth/…` are forward-auth and Envoy's door; a path that merely looks
//! like them (`/authx`, `/auth2/…`, `//auth`, `/AUTH`) is never decided as
//! forward-auth, whatever headers it carries (SECURITY.md row 206).

mod server;

use server::{ask_forward_auth, client, issue_guest_reader, seed_registry, Server};

#[tokio::test]
async fn only_the_exact_auth_paths_are_the_decision_doors() {
    let s = Server::start(&[]);
    seed_registry(&s).await;
    let issued = issue_guest_reader(&s).await;
    let token = issued["token"].as_str().expect("token");
    let c = client();

    // The doors themselves: forward-auth, and Envoy asking about the same path.
    assert_eq!(ask_forward_auth(&c, &s, "/auth", token).await.0, 200);
    assert_eq!(ask_forward_auth(&c, &s, "/auth?x=1", token).await.0, 200);
    assert_eq!(
        ask_forward_auth(&c, &s, "/auth/api/v1/views/v_1/rows", token)
            .await
            .0,
        200
    );

    // Look-alikes go to the router: with no upstream, no such endpoint.
    for path in ["/authx", "/auth2/api/v1/views/v_1/rows", "//auth", "/AUTH"] {
        let (status, body) = ask_forward_auth(&c, &s, path, token).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"], "not_found", "{path}: {body}");
    }
}
