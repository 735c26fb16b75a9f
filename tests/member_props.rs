//! Properties of member decisions over random workspaces: random roles,
//! groups, table modes and entries, an author or none, view settings.
//! What `authorize::decide` allows a member token never exceeds what the
//! role and the table's settings allow (`team_table_rights`, a role table
//! for the workspace itself), and a member token attenuated to a random set
//! of operations never allows what the plain token denies. Bounded: 64
//! cases, every operation on each of the workspace, the table and the view.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::{self, Context, Decision, Policy, Request, RunLimits};
use tessera::keys::{PrivateKeyring, PublicKeyring};
use tessera::model::access::{
    team_table_rights, Group, Mode, Permission, Rights, Scope, TableAccess, TableSharing, Team,
    WorkspaceRole,
};
use tessera::model::{
    Grant, Id, Operation, Registry, Resource, ResourceKind, Restriction, RevocationSet, ViewEntry,
    ViewSettings,
};
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};

const USERS: usize = 4;
const GROUPS: usize = 2;

use common::{id, t0 as now};

fn user(i: usize) -> Id {
    id(&format!("u_{i}"))
}

fn group(i: usize) -> Id {
    id(&format!("g_{i}"))
}

struct Keys {
    ring: PrivateKeyring,
    public: PublicKeyring,
    policy: Policy,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let ring = PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(17), now());
        Keys {
            public: ring.public(),
            ring,
            policy: Policy::default_with_limits(RunLimits {
                max_time: Duration::from_secs(5),
                ..RunLimits::default()
            })
            .unwrap(),
        }
    })
}

fn role() -> impl Strategy<Value = Option<WorkspaceRole>> {
    prop_oneof![
        Just(None),
        Just(Some(WorkspaceRole::Viewer)),
        Just(Some(WorkspaceRole::Member)),
        Just(Some(WorkspaceRole::Admin)),
        Just(Some(WorkspaceRole::Owner)),
    ]
}

fn rights() -> impl Strategy<Value = Rights> {
    proptest::collection::btree_set(proptest::sample::select(Permission::ALL.to_vec()), 0..=4)
        .prop_map(|s| Rights::of(&s.into_iter().collect::<Vec<_>>()))
}

fn mode() -> impl Strategy<Value = Mode> {
    proptest::sample::select(Mode::ALL.to_vec())
}

fn scope() -> impl Strategy<Value = Scope> {
    (
        mode(),
        proptest::collection::vec(proptest::option::of(rights()), USERS),
        proptest::collection::vec(proptest::option::of(rights()), GROUPS),
    )
        .prop_map(|(mode, users, groups)| Scope {
            mode,
            users: entries(users, user),
            groups: entries(groups, group),
        })
}

fn entries(list: Vec<Option<Rights>>, name: fn(usize) -> Id) -> BTreeMap<Id, Rights> {
    list.into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.map(|r| (name(i), r)))
        .collect()
}

/// One workspace ws_1 ⊃ t_1 ⊃ v_1 and another ws_2 ⊃ t_2 the users are
/// never members of, with random people and settings.
#[derive(Debug, Clone)]
struct World {
    roles: Vec<Option<WorkspaceRole>>,
    groups: Vec<BTreeSet<usize>>,
    author: Option<usize>,
    structure: Scope,
    records: Scope,
    view: [bool; 5],
}

fn world() -> impl Strategy<Value = World> {
    (
        proptest::collection::vec(role(), USERS),
        proptest::collection::vec(proptest::collection::btree_set(0..USERS, 0..=USERS), GROUPS),
        proptest::option::of(0..USERS),
        scope(),
        scope(),
        proptest::array::uniform5(any::<bool>()),
    )
        .prop_map(|(roles, groups, author, structure, records, view)| World {
            roles,
            groups,
            author,
            structure,
            records,
            view,
        })
}

impl World {
    fn team(&self) -> Team {
        let mut team = Team::default();
        for (i, r) in self.roles.iter().enumerate() {
            if let Some(r) = r {
                team.roles.insert(user(i), *r);
            }
        }
        for (i, members) in self.groups.iter().enumerate() {
            team.groups.insert(
                group(i),
                Group {
                    name: format!("Group {i}"),
                    members: members.iter().map(|u| user(*u)).collect(),
                },
            );
        }
        team
    }

    fn sharing(&self) -> TableSharing {
        TableSharing {
            author: self.author.map(user),
            access: TableAccess {
                structure: self.structure.clone(),
                records: self.records.clone(),
            },
        }
    }

    fn registry(&self) -> Registry {
        let mut reg = Registry::default();
        for (ws, t) in [("ws_1", "t_1"), ("ws_2", "t_2")] {
            reg.workspaces.insert(id(ws));
            reg.tables.insert(id(t), id(ws));
        }
        let [editable, addable, exportable, public, locked] = self.view;
        reg.views.insert(
            id("v_1"),
            ViewEntry {
                table: id("t_1"),
                settings: ViewSettings {
                    editable,
                    addable,
                    exportable,
                    public,
                    locked,
                },
            },
        );
        reg.people.teams.insert(id("ws_1"), self.team());
        reg.sharing.insert(id("t_1"), self.sharing());
        reg
    }

    /// The most the role and the table's settings allow `u` on `resource`,
    /// worked out from the model, not from the decision path.
    fn bound(&self, u: usize, resource: &Resource) -> BTreeSet<Operation> {
        use Operation::*;
        if resource.id.as_str().ends_with('2') {
            return BTreeSet::new();
        }
        let Some(role) = self.roles[u] else {
            return BTreeSet::new();
        };
        match resource.kind {
            ResourceKind::Workspace => match role {
                WorkspaceRole::Viewer => [Read, Export].into(),
                WorkspaceRole::Member => [Read, Export, Create].into(),
                WorkspaceRole::Admin => Operation::ALL.into_iter().chain([Settings]).collect(),
                WorkspaceRole::Owner => Operation::EVERY.into(),
            },
            kind => {
                let team = self.team();
                let rights = team_table_rights(Some(&team), &self.sharing(), &user(u));
                let mut ops = rights.operations();
                if kind == ResourceKind::Table && rights.may_delete_table() {
                    ops.insert(Drop);
                }
                if role == WorkspaceRole::Viewer {
                    assert!(ops.iter().all(|o| [Read, Export].contains(o)), "{ops:?}");
                }
                ops
            }
        }
    }
}

fn member_token(u: usize, seed: u64) -> String {
    token::issue_with_rng(
        &Grant::member(user(u)),
        &keys().ring,
        now(),
        &mut StdRng::seed_from_u64(seed),
    )
    .unwrap()
    .token
    .expose()
    .to_owned()
}

fn decide(registry: &Registry, token: &str, request: &Request) -> Decision {
    let k = keys();
    let revocations = RevocationSet::default();
    let ctx = Context {
        keyring: &k.public,
        revocations: &revocations,
        registry,
        policy: &k.policy,
        max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        token_limits: token::TokenLimits::default(),
        explain: false,
    };
    authorize::decide(&ctx, Some(token), request, now())
}

fn requests() -> Vec<Request> {
    let resources = [
        Resource::workspace(id("ws_1")),
        Resource::table(id("t_1")),
        Resource::view(id("v_1")),
        Resource::workspace(id("ws_2")),
        Resource::table(id("t_2")),
    ];
    resources
        .iter()
        .flat_map(|r| {
            Operation::EVERY.into_iter().map(|operation| Request {
                operation,
                resource: r.clone(),
            })
        })
        .collect()
}

fn is_public_read(w: &World, request: &Request) -> bool {
    request.operation == Operation::Read && request.resource.kind == ResourceKind::View && w.view[3]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_member_is_never_allowed_more_than_its_role_and_the_table_allow(
        w in world(),
        u in 0..USERS,
        subset in proptest::collection::btree_set(proptest::sample::select(Operation::EVERY.to_vec()), 1..=4),
        seed in any::<u64>(),
    ) {
        let registry = w.registry();
        let plain = member_token(u, seed);
        let narrowed = token::attenuate_with_rng(
            &plain,
            &Restriction { operations: Some(subset.clone()), ..Restriction::default() },
            now(),
            DEFAULT_MAX_TOKEN_BYTES,
            &mut StdRng::seed_from_u64(seed ^ 1),
        )
        .unwrap();
        for request in requests() {
            let d = decide(&registry, &plain, &request);
            // A public view is readable by anyone, member or not.
            if d.allowed && !is_public_read(&w, &request) {
                let bound = w.bound(u, &request.resource);
                prop_assert!(
                    bound.contains(&request.operation),
                    "{request:?} allowed for u_{u} beyond {bound:?}: {w:?}"
                );
            }
            let n = decide(&registry, narrowed.expose(), &request);
            if n.allowed {
                prop_assert!(d.allowed, "attenuated allowed {request:?} the plain token denies: {w:?}");
                prop_assert!(subset.contains(&request.operation), "{request:?} outside {subset:?}");
            }
        }
    }
}
