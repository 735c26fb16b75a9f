use super::*;

fn table() -> RouteTable {
    RouteTable::default_table().unwrap()
}

fn req(op: Operation, kind: ResourceKind, id: &str) -> Request {
    Request {
        operation: op,
        resource: Resource {
            kind,
            id: Id::new(id).unwrap(),
        },
    }
}

#[test]
fn the_default_table_maps_the_data_api() {
    let t = table();
    let v = ResourceKind::View;
    let cases = [
        (
            "GET",
            "/api/v1/views/v_1/rows",
            req(Operation::Read, v, "v_1"),
        ),
        (
            "HEAD",
            "/api/v1/views/v_1/rows?limit=5",
            req(Operation::Read, v, "v_1"),
        ),
        (
            "POST",
            "/api/v1/views/v_1/rows",
            req(Operation::Create, v, "v_1"),
        ),
        (
            "PATCH",
            "/api/v1/views/v_1/rows/r9",
            req(Operation::Write, v, "v_1"),
        ),
        (
            "PUT",
            "/api/v1/views/v_1/rows",
            req(Operation::Write, v, "v_1"),
        ),
        (
            "DELETE",
            "/api/v1/views/v_1/rows/r9",
            req(Operation::Delete, v, "v_1"),
        ),
        (
            "GET",
            "/api/v1/views/v_1/export",
            req(Operation::Export, v, "v_1"),
        ),
        (
            "PATCH",
            "/api/v1/views/v_1/config",
            req(Operation::Manage, v, "v_1"),
        ),
        ("GET", "/views/v_1/", req(Operation::Read, v, "v_1")),
        (
            "POST",
            "/api/v1/tables/t_1/columns",
            req(Operation::Manage, ResourceKind::Table, "t_1"),
        ),
        (
            "GET",
            "/api/v1/workspaces/ws_1/tables",
            req(Operation::Read, ResourceKind::Workspace, "ws_1"),
        ),
    ];
    for (method, path, expected) in cases {
        assert_eq!(t.resolve(method, path), Ok(expected), "{method} {path}");
    }
    assert_eq!(
        t.resolve("OPTIONS", "/api/v1/views/v_1/rows"),
        Err(RouteError::NoRoute)
    );
    assert_eq!(
        t.resolve("GET", "/api/v2/views/v_1/rows"),
        Err(RouteError::NoRoute)
    );
    assert_eq!(
        t.resolve("GET", "/API/v1/views/v_1/rows"),
        Err(RouteError::NoRoute)
    );
}

#[test]
fn path_tricks_are_refused() {
    let t = table();
    for path in [
        "/api/v1/views/v_1/../../views/v_2/rows",
        "/api/v1/views/./v_1/rows",
        "/api/v1/views/%2e%2e/rows",
        "/api/v1/views/v_1%2frows",
        "/api/v1/views/v_1%2Frows",
        "/api/v1/views/v_1%5crows",
        "/api/v1//views/v_1/rows",
        "/api/v1/views/v_1//rows",
        "/api/v1/views/v_1%252frows",
        "/api/v1/views/v_1%00/rows",
        "/api/v1/views/v_1%ff/rows",
        "/api/v1/views/v_1./rows",
        "/api/v1/views/v%20_1/rows",
        "api/v1/views/v_1/rows",
    ] {
        assert_eq!(t.resolve("GET", path), Err(RouteError::BadPath), "{path}");
    }
    let long = format!("/{}", "a/".repeat(1100));
    assert_eq!(t.resolve("GET", &long), Err(RouteError::BadPath));
    // Encoded ordinary characters decode once and are fine.
    assert_eq!(
        t.resolve("GET", "/api/v1/views/v%5F1/rows")
            .map(|r| r.resource.id),
        Ok(Id::new("v_1").unwrap())
    );
}

#[test]
fn bad_tables_are_refused_at_load() {
    let overlap = r#"
        [[route]]
        methods = ["GET"]
        path = "/a/{view}"
        operation = "read"
        resource = "view"
        [[route]]
        methods = ["GET", "POST"]
        path = "/a/{table}"
        operation = "read"
        resource = "table"
    "#;
    assert!(matches!(
        RouteTable::from_toml(overlap),
        Err(RouteTableError::Overlap {
            first: 0,
            second: 1,
            ..
        })
    ));
    let no_param = r#"
        [[route]]
        methods = ["GET"]
        path = "/a/{table}"
        operation = "read"
        resource = "view"
    "#;
    assert!(matches!(
        RouteTable::from_toml(no_param),
        Err(RouteTableError::BadTemplate { .. })
    ));
    let bad_op = r#"
        [[route]]
        methods = ["GET"]
        path = "/a/{view}"
        operation = "fly"
        resource = "view"
    "#;
    assert!(matches!(
        RouteTable::from_toml(bad_op),
        Err(RouteTableError::Syntax(_))
    ));
    assert!(matches!(
        RouteTable::from_toml("route = []"),
        Err(RouteTableError::Empty)
    ));
    let dotdot = r#"
        [[route]]
        methods = ["GET"]
        path = "/a/../{view}"
        operation = "read"
        resource = "view"
    "#;
    assert!(RouteTable::from_toml(dotdot).is_err());
}
