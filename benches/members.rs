//! What a member decision costs next to a guest decision, with a registry
//! of 10,000 users, 1,000 groups and 10,000 tables: 100 workspaces of 100
//! users (an owner, an admin, members and viewers), 10 groups each (every
//! user in two), 100 tables each, restricted to two groups and two users.
//!
//! - `members/decision/guest_view`: a guest token reading its view v_1
//!   (`authorize::decide` from token text, the cold path).
//! - `members/decision/member_view`: a member token reading the same view,
//!   its rights coming from a group entry on the view's table (a user entry
//!   there too, which the group's overrides).
//! - `members/decision/member_table`: the member reading the table itself.
//!
//! Before criterion runs: the registry's load time at start
//! (`Store::open` + `Store::registry()` on a redb file holding it). After:
//! member/guest p50 from individually timed decisions, interleaved so both
//! sides run under the same load (target: within 1.25×).
//! Run with `cargo bench --bench members`; under `cargo test --benches` the
//! registry is a hundredth of the size and the extra timings are skipped.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::{self, Context, Policy, Request, RunLimits};
use tessera::change::{self, Actor, Change, Memory};
use tessera::keys::{PrivateKeyring, PublicKeyring};
use tessera::model::access::{
    Mode, Permission, Rights, Scope, TableAccess, TableSharing, WorkspaceRole,
};
use tessera::model::{Grant, Operation, Registry, Resource, RevocationSet, ViewSettings};
use tessera::store::Store;
use tessera::token::{self, SecretToken};

use common::{guest_grant, id, now};

/// Users per workspace, groups per workspace, tables per workspace.
const PER_WORKSPACE: (usize, usize, usize) = (100, 10, 100);
/// The member the bench decides for: ws_1, role member, in groups g_1_3
/// and g_1_2; t_1_0 has entries for g_1_0, g_1_3 and for u_103 itself.
const MEMBER: &str = "u_103";
/// Individually timed decisions of each kind for the p50s.
const TIMED: usize = 3000;

fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn role_of(n: usize) -> WorkspaceRole {
    match (n % 100, n % 10) {
        (0, _) => WorkspaceRole::Owner,
        (1, _) => WorkspaceRole::Admin,
        (_, 9) => WorkspaceRole::Viewer,
        _ => WorkspaceRole::Member,
    }
}

/// Every change that builds the registry, as the admin API would make them.
fn changes(workspaces: usize) -> Vec<Change> {
    let (users, groups, tables) = PER_WORKSPACE;
    let rights = |p: &[Permission]| Rights::of(p);
    let mut out = Vec::new();
    for w in 0..workspaces {
        let ws = id(&format!("ws_{w}"));
        out.push(Change::PutWorkspace {
            workspace: ws.clone(),
        });
        let members: Vec<usize> = (w * users..(w + 1) * users).collect();
        for &n in &members {
            let user = id(&format!("u_{n}"));
            out.push(Change::PutUser {
                user: user.clone(),
                email: format!("u{n}@example.com"),
                name: format!("User {n}"),
            });
            out.push(Change::PutMember {
                workspace: ws.clone(),
                user,
                role: role_of(n),
            });
        }
        for g in 0..groups {
            out.push(Change::PutGroup {
                workspace: ws.clone(),
                group: id(&format!("g_{w}_{g}")),
                name: format!("Group {g}"),
                members: members
                    .iter()
                    .filter(|n| *n % groups == g || (*n + 9) % groups == g)
                    .map(|n| id(&format!("u_{n}")))
                    .collect(),
            });
        }
        for t in 0..tables {
            let table = id(&format!("t_{w}_{t}"));
            out.push(Change::PutTable {
                table: table.clone(),
                workspace: ws.clone(),
            });
            let mut records = Scope::open(Mode::Restricted);
            use Permission::*;
            records
                .groups
                .insert(id(&format!("g_{w}_{}", t % groups)), rights(&[Read]));
            records.groups.insert(
                id(&format!("g_{w}_{}", (t + 3) % groups)),
                rights(&[Read, Execute, Edit]),
            );
            for n in [w * users + 3 + t % 10, w * users + 50 + t % 10] {
                records.users.insert(id(&format!("u_{n}")), Rights::ALL);
            }
            let structure = Scope::open(Mode::ReadOnly);
            out.push(Change::PutTableSharing {
                table,
                sharing: TableSharing {
                    author: Some(id(&format!("u_{}", w * users + 2))),
                    access: TableAccess { structure, records },
                },
            });
        }
    }
    out.push(Change::PutView {
        view: id("v_1"),
        table: id("t_1_0"),
        settings: ViewSettings::default(),
    });
    out
}

struct Fixture {
    public: PublicKeyring,
    registry: Registry,
    policy: Policy,
    guest: SecretToken,
    member: SecretToken,
}

impl Fixture {
    fn new(changes: &[Change]) -> Fixture {
        let mut memory = Memory::default();
        for c in changes {
            change::apply(&mut memory, c, now()).expect("change applies");
        }
        let now = now();
        let mut rng = StdRng::seed_from_u64(51);
        let ring = PrivateKeyring::generate_with_rng(&mut rng, now);
        let issue = |grant: &Grant, rng: &mut StdRng| {
            token::issue_with_rng(grant, &ring, now, rng)
                .expect("issue")
                .token
        };
        let member = Grant::member(id(MEMBER)).expires_at(guest_grant(now).expires_at);
        Fixture {
            public: ring.public(),
            registry: memory.registry,
            policy: Policy::default_with_limits(RunLimits::default()).expect("default policy"),
            guest: issue(&guest_grant(now), &mut rng),
            member: issue(&member, &mut rng),
        }
    }

    fn context<'a>(&'a self, revocations: &'a RevocationSet) -> Context<'a> {
        common::context(&self.public, revocations, &self.registry, &self.policy)
    }
}

fn read(resource: Resource) -> Request {
    Request {
        operation: Operation::Read,
        resource,
    }
}

/// Opens a redb file holding the registry and reads it, as `tessera serve`
/// does at start: the median of a few rounds.
fn registry_load_time(changes: &[Change]) -> (Duration, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tessera.redb");
    let written = Instant::now();
    {
        let store = Store::create(&path).expect("store");
        store
            .apply_all(changes, &Actor::Cli, now())
            .expect("changes commit");
    }
    eprintln!(
        "members: {} changes written to redb in {:.1} s (one transaction)",
        changes.len(),
        written.elapsed().as_secs_f64()
    );
    let mut times: Vec<(Duration, usize)> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let store = Store::open(&path).expect("open");
            let registry = store.registry().expect("registry");
            (start.elapsed(), registry.people.users.len())
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn bench_decisions(c: &mut Criterion, fx: &Fixture) {
    let empty = RevocationSet::default();
    let ctx = fx.context(&empty);
    let cases = [
        ("guest_view", &fx.guest, read(Resource::view(id("v_1")))),
        ("member_view", &fx.member, read(Resource::view(id("v_1")))),
        (
            "member_table",
            &fx.member,
            read(Resource::table(id("t_1_0"))),
        ),
    ];
    let mut group = c.benchmark_group("members/decision");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
    for (name, token, request) in &cases {
        let d = authorize::decide(&ctx, Some(token.expose()), request, now());
        assert!(d.allowed, "{name} must be allowed: {:?}", d.reason);
        group.bench_function(*name, |b| {
            b.iter(|| authorize::decide(&ctx, Some(black_box(token.expose())), request, now()))
        });
    }
    group.finish();
}

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Guest and member decisions timed one by one, alternating, so a machine
/// whose speed drifts affects both alike: their p50s and the ratio.
fn print_p50_ratio(fx: &Fixture) {
    let empty = RevocationSet::default();
    let ctx = fx.context(&empty);
    let view = read(Resource::view(id("v_1")));
    let table = read(Resource::table(id("t_1_0")));
    let time = |token: &SecretToken, request: &Request| {
        let start = Instant::now();
        black_box(authorize::decide(
            &ctx,
            Some(black_box(token.expose())),
            request,
            now(),
        ));
        start.elapsed()
    };
    let (mut guest, mut member_view, mut member_table) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..TIMED {
        if i % 2 == 0 {
            guest.push(time(&fx.guest, &view));
            member_view.push(time(&fx.member, &view));
        } else {
            member_view.push(time(&fx.member, &view));
            guest.push(time(&fx.guest, &view));
        }
        member_table.push(time(&fx.member, &table));
    }
    let (g, mv, mt) = (p50(guest), p50(member_view), p50(member_table));
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    eprintln!("members: p50 of {TIMED} interleaved decisions each (µs): guest view {:.1}, member view {:.1}, member table {:.1}", us(g), us(mv), us(mt));
    eprintln!(
        "members: member/guest p50 ratio {:.3}x on the same view (target <= 1.25), member table/guest {:.3}x",
        mv.as_secs_f64() / g.as_secs_f64(),
        mt.as_secs_f64() / g.as_secs_f64()
    );
}

fn benches_all(c: &mut Criterion) {
    let workspaces = if measuring() { 100 } else { 2 };
    let changes = changes(workspaces);
    if measuring() {
        let (load, users) = registry_load_time(&changes);
        eprintln!(
            "members: registry load at start (Store::open + registry(), median of 5): {:.1} ms for {users} users, {} groups, {} tables",
            load.as_secs_f64() * 1e3,
            workspaces * PER_WORKSPACE.1,
            workspaces * PER_WORKSPACE.2,
        );
    }
    let fx = Fixture::new(&changes);
    bench_decisions(c, &fx);
    if measuring() {
        print_p50_ratio(&fx);
    }
}

criterion_group!(benches, benches_all);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
