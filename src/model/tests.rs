use chrono::{DateTime, Duration, Utc};

use super::*;

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

#[test]
fn ids_are_validated() {
    assert!(Id::new("ws_1-A").is_ok());
    assert_eq!(Id::new(""), Err(ModelError::InvalidId(String::new())));
    assert!(Id::new("a/b").is_err());
    assert!(Id::new("\"x\"").is_err());
    assert!(Id::new(&"a".repeat(65)).is_err());
    assert!(Id::new(&"a".repeat(64)).is_ok());
}

#[test]
fn operation_lists_parse() {
    let ops = Operation::parse_list("read, export").unwrap();
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        vec![Operation::Read, Operation::Export]
    );
    assert_eq!(Operation::parse_list(""), Err(ModelError::NoOperations));
    assert_eq!(
        Operation::parse_list("read,fly"),
        Err(ModelError::UnknownOperation("fly".into()))
    );
}

#[test]
fn expiry_parses_durations_and_instants() {
    let now = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        parse_expiry("90d", now).unwrap().to_rfc3339(),
        "2027-02-20T00:00:00+00:00"
    );
    assert_eq!(
        parse_expiry("2027-02-22T00:00:00Z", now).unwrap(),
        DateTime::parse_from_rfc3339("2027-02-22T00:00:00Z").unwrap()
    );
    assert!(parse_expiry("90x", now).is_err());
    assert!(parse_expiry("d", now).is_err());
    assert!(parse_expiry("99999999999999999999d", now).is_err());
}

#[test]
fn containment_walks_to_the_workspace() {
    let mut reg = Registry::default();
    reg.workspaces.insert(id("ws"));
    reg.tables.insert(id("t"), id("ws"));
    reg.views.insert(
        id("v"),
        ViewEntry {
            table: id("t"),
            settings: ViewSettings::default(),
        },
    );
    let chain = reg.containment(&Resource::view(id("v"))).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].parent, Resource::workspace(id("ws")));
    assert_eq!(reg.workspace_of(&Resource::view(id("v"))), Some(id("ws")));
    assert!(reg.containment(&Resource::view(id("nope"))).is_none());
    reg.workspaces.clear();
    assert!(reg.containment(&Resource::view(id("v"))).is_none());
}

#[test]
fn grants_validate() {
    let now = Utc::now();
    let ops = Operation::parse_list("read").unwrap();
    let g = Grant::guest(id("ws"), id("v"), &ops);
    assert!(g.validate(now).is_ok());
    assert_eq!(g.scope(), Some(&Resource::view(id("v"))));
    let past = g.clone().expires_at(Some(now - Duration::seconds(1)));
    assert!(matches!(
        past.validate(now),
        Err(ModelError::ExpiryInPast(_))
    ));
    let bad = g.label(Some("a\nb".into()));
    assert_eq!(bad.validate(now), Err(ModelError::InvalidLabel));
}

#[test]
fn labels_refuse_controls_bidi_and_invisible_characters_by_name() {
    for (label, position, escaped) in [
        ("a\u{1b}[31m", 2, "\\x1b"),
        ("\rEVIL", 1, "\\r"),
        ("invoice\u{202e}fdp.exe", 8, "\\u{202e}"),
        ("x\u{2066}y", 2, "\\u{2066}"),
        ("ab\u{200b}", 3, "\\u{200b}"),
        ("\u{9b}2J", 1, "\\u{9b}"),
    ] {
        let err = check_label(label).unwrap_err();
        assert_eq!(
            err,
            ModelError::LabelCharacter {
                position,
                escaped: escaped.into()
            },
            "{label:?}"
        );
        assert!(err.to_string().starts_with("invalid label: "), "{err}");
        assert!(
            !err.to_string().contains(label),
            "the raw label is not echoed"
        );
        assert_eq!(validate_label(label), Err(ModelError::InvalidLabel));
    }
    assert_eq!(
        check_label(&"a".repeat(MAX_LABEL_CHARS + 1)),
        Err(ModelError::InvalidLabel)
    );
    // Twin: ordinary Unicode, up to the bound, is a label.
    for ok in [
        "Müller & Söhne",
        "日本語",
        "עברית",
        "👩\u{200d}💻",
        &"é".repeat(128),
    ] {
        assert_eq!(check_label(ok), Ok(()), "{ok}");
    }
}

#[test]
fn every_entry_that_takes_a_label_checks_it() {
    let now = Utc::now();
    let mut request = IssueRequest::new(TokenKind::Admin, None);
    request.label = Some("ops\u{202e}".into());
    assert!(matches!(
        request.grant(&Registry::default()),
        Err(ModelError::LabelCharacter { position: 4, .. })
    ));
    let restriction = Restriction {
        label: Some("ops\u{1b}".into()),
        ..Restriction::default()
    };
    assert!(matches!(
        restriction.validate(now),
        Err(ModelError::LabelCharacter { position: 4, .. })
    ));
    let grant = Grant::admin().label(Some("\u{2067}".into()));
    assert_eq!(grant.validate(now), Err(ModelError::InvalidLabel));
}

#[test]
fn view_setting_names_are_one_list_that_serde_the_parser_and_the_message_agree_on() {
    let names: Vec<&str> = ViewSetting::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        ["editable", "addable", "exportable", "public", "locked"]
    );
    assert_eq!(ViewSettings::NAMES.to_vec(), names);
    // The registry's JSON fields are the same names, in the same order.
    let json = serde_json::to_value(ViewSettings::default()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    for setting in ViewSetting::ALL {
        assert_eq!(setting.as_str().parse::<ViewSetting>(), Ok(setting));
        let mut settings = ViewSettings::default();
        let before = settings.get(setting);
        settings.set(setting.as_str(), !before).unwrap();
        assert_eq!(settings.get(setting), !before, "{setting}");
        assert_eq!(json[setting.as_str()], serde_json::json!(before));
    }
    assert_eq!(
        ViewSettings::default()
            .set("shiny", true)
            .unwrap_err()
            .to_string(),
        "unknown view setting \"shiny\": expected editable, addable, exportable, public or locked"
    );
    assert_eq!(
        ViewSetting::changes([Some(false), None, None, None, Some(true)]),
        vec![("editable", false), ("locked", true)]
    );
}
