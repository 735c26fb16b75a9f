use super::*;
use crate::change::{Actor, AuditRecord, Change};
use crate::model::{Operation, Resource, Right};

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn entry() -> LedgerEntry {
    LedgerEntry {
        token_id: id("tk_1"),
        kind: TokenKind::ApiKey,
        workspace: Some(id("ws_1")),
        user: None,
        scope: Some(Resource::workspace(id("ws_1"))),
        rights: vec![Right {
            resource: Resource::workspace(id("ws_1")),
            operation: Operation::Read,
        }],
        expires_at: None,
        label: Some("etl".into()),
        created_at: t0(),
        root_key_id: 1,
        revocation_ids: vec!["ab".into()],
        revoked_at: None,
        revoke_reason: None,
        last_used_at: None,
        shared_by: None,
        embed: None,
    }
}

#[test]
fn an_issued_token_is_its_ledger_row_with_the_token_flat() {
    let issued = IssuedToken {
        row: TokenRow::new(entry(), t0()),
        token: "tsr_secret".into(),
        share_link: None,
    };
    let v = serde_json::to_value(&issued).unwrap();
    assert_eq!(v["token_id"], "tk_1");
    assert_eq!(v["state"], "active");
    assert_eq!(v["token"], "tsr_secret");
    assert_eq!(v["label"], "etl");
    assert!(v.get("share_link").is_none(), "{v}");
    assert!(v.get("row").is_none() && v.get("entry").is_none(), "{v}");
    let back: IssuedToken = serde_json::from_value(v).unwrap();
    assert_eq!(back, issued);
    assert!(!format!("{issued:?}").contains("tsr_secret"));
}

#[test]
fn a_decision_body_never_shows_its_token() {
    let body = DecisionBody {
        token: Some("tsr_secret".into()),
        operation: Operation::Read,
        resource: Resource::view(id("v_1")),
        at: None,
        explain: false,
    };
    assert!(!format!("{body:?}").contains("tsr_secret"));
}

#[test]
fn view_bodies_carry_placement_and_settings() {
    let body = ViewBody::new(Some((&id("t_1"), &id("ws_1"))), &[("public", true)]);
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({ "table": "t_1", "workspace": "ws_1", "settings": { "public": true } })
    );
    assert_eq!(body.placement().unwrap(), Some((id("t_1"), id("ws_1"))));
    let flat: ViewBody =
        serde_json::from_str(r#"{"locked": true, "settings": {"editable": false}}"#).unwrap();
    assert_eq!(
        flat.changes(),
        vec![("locked".to_owned(), true), ("editable".to_owned(), false)]
    );
    let half: ViewBody = serde_json::from_str(r#"{"table": "t_1"}"#).unwrap();
    assert!(matches!(half.placement(), Err(Invalid::Placement)));
    assert!(serde_json::from_str::<ViewBody>(r#"{"colour": "red"}"#).is_err());
}

#[test]
fn an_audit_event_keeps_the_old_fields_and_adds_the_record() {
    let record = AuditRecord {
        version: crate::change::AUDIT_VERSION,
        seq: 4,
        at: t0(),
        actor: Actor::Cli,
        change: Change::TokenIssued { entry: entry() },
    };
    let v = serde_json::to_value(AuditEvent::from(record)).unwrap();
    assert_eq!(v["seq"], 4);
    assert_eq!(v["event"], "issued");
    assert_eq!(v["token_id"], "tk_1");
    assert_eq!(v["detail"], "api_key token for workspace:ws_1");
    assert_eq!(v["actor"], "cli");
    assert_eq!(v["change"]["type"], "token_issued");
    assert_eq!(v["change"]["entry"]["label"], "etl");
}
