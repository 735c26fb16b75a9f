//! `tessera user …`, `tessera member …`, `tessera group …` and
//! `tessera table access|permissions …`: the members of workspaces, their
//! groups and a table's access, on the local store or through `--server`.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::api::people::parse_schema_permissions;
use crate::api::{GroupBody, UserBody};
use crate::model::access::vocab::{Person, PersonAccess, ShareMode, ShareSettings};
use crate::model::access::{Level, WorkspaceRole};
use crate::model::Id;

use super::backend::Backend;
use super::output::print;

/// `tessera user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Register a user (or change its email and name).
    Put {
        /// The user id.
        user: Id,
        /// Its email address.
        #[arg(long)]
        email: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a user: its record, its roles and its place in every group.
    Remove {
        /// The user id.
        user: Id,
        /// Print JSON ({id, removed}) instead of a sentence.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera member …`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Give a registered user a role in a workspace.
    Set {
        /// The workspace.
        #[arg(long)]
        workspace: Id,
        /// The user.
        #[arg(long)]
        user: Id,
        /// owner, admin, member or viewer.
        #[arg(long)]
        role: WorkspaceRole,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Take a user out of a workspace (and its groups there).
    Remove {
        /// The workspace.
        #[arg(long)]
        workspace: Id,
        /// The user.
        #[arg(long)]
        user: Id,
        /// Print JSON ({workspace, user, removed}) instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Invite a user (registered if new) with a role on some projects
    /// (workspaces): `--email E --role viewer --projects a,b`.
    Invite {
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// owner, admin, member or viewer.
        #[arg(long)]
        role: WorkspaceRole,
        /// The projects, comma-separated workspace ids.
        #[arg(long, value_delimiter = ',')]
        projects: Vec<Id>,
        /// The new user's id (default: u_ and 16 hex digits of the email's SHA-256).
        #[arg(long)]
        id: Option<Id>,
        /// The new user's display name (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
        /// When the assignment ends: RFC 3339 or 7d-style (default: never).
        #[arg(long)]
        expires: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a user's project assignment: `USER a,b`.
    Projects {
        /// The user.
        user: Id,
        /// The projects, comma-separated workspace ids.
        #[arg(value_delimiter = ',', required = true)]
        projects: Vec<Id>,
        /// The role on them (default: the one role it holds, else viewer).
        #[arg(long)]
        role: Option<WorkspaceRole>,
        /// When the assignment ends: RFC 3339 or 7d-style (default: never).
        #[arg(long)]
        expires: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a workspace's members and their roles.
    List {
        /// The workspace.
        #[arg(long)]
        workspace: Id,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera group …`
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Set a group of a workspace: its name and all its members.
    Put {
        /// The group id.
        group: Id,
        /// The workspace.
        #[arg(long)]
        workspace: Id,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// Its members, comma-separated user ids (members of the workspace).
        #[arg(long, value_delimiter = ',')]
        members: Vec<Id>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a group of a workspace.
    Remove {
        /// The group id.
        group: Id,
        /// The workspace.
        #[arg(long)]
        workspace: Id,
        /// Print JSON ({id, workspace, removed}) instead of a sentence.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera table access T …`: TinyTables' share settings.
#[derive(Debug, Args)]
pub struct TableAccessArgs {
    /// The table.
    pub table: Id,
    /// private (its author only), workspace (every member by role) or
    /// specific (the --person entries only).
    #[arg(long, value_parser = parse_share_mode)]
    pub mode: ShareMode,
    /// With --mode specific: user:ID=LEVEL or group:ID=LEVEL, LEVEL one of
    /// viewer, editor, full; repeat for more.
    #[arg(long = "person", value_parser = parse_person)]
    pub people: Vec<PersonAccess>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `tessera table permissions T --json FILE`: Schema Builder's permissions.
#[derive(Debug, Args)]
pub struct TablePermissionsArgs {
    /// The table.
    pub table: Id,
    /// The permissions as JSON ({"schema": {...}, "records": {...}}): a
    /// file, or - for stdin. The result is printed as JSON.
    #[arg(long = "json")]
    pub file: PathBuf,
}

fn parse_share_mode(s: &str) -> Result<ShareMode, String> {
    match s {
        "private" => Ok(ShareMode::Private),
        "workspace" => Ok(ShareMode::Workspace),
        "specific" => Ok(ShareMode::Specific),
        _ => Err("expected private, workspace or specific".to_owned()),
    }
}

fn parse_person(s: &str) -> Result<PersonAccess, String> {
    let usage = || format!("{s:?}: expected user:ID=LEVEL or group:ID=LEVEL");
    let (who, level) = s.split_once('=').ok_or_else(usage)?;
    let (kind, id) = who.split_once(':').ok_or_else(usage)?;
    let id = Id::new(id).map_err(|e| e.to_string())?;
    let person = match kind {
        "user" => Person::User(id),
        "group" => Person::Group(id),
        _ => return Err(usage()),
    };
    let level: Level = level
        .parse()
        .map_err(|e: crate::model::access::AccessError| e.to_string())?;
    Ok(PersonAccess { person, level })
}

/// Runs a `user` command.
pub(crate) fn user(backend: &Backend, cmd: UserCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    match cmd {
        UserCommand::Put {
            user,
            email,
            name,
            json,
        } => {
            let info = backend.put_user(&user, UserBody { email, name }, now)?;
            print(json, &info, |info| {
                println!("user {} <{}> {}", info.id, info.email, info.name);
            })
        }
        UserCommand::Remove { user, json } => {
            backend.remove_user(&user, now)?;
            let removed = serde_json::json!({"id": user, "removed": true});
            print(json, &removed, |_| println!("user {user} removed"))
        }
    }
}

/// Runs a `member` command.
pub(crate) fn member(
    backend: &Backend,
    cmd: MemberCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    match cmd {
        MemberCommand::Set {
            workspace,
            user,
            role,
            json,
        } => {
            let info = backend.set_member(&workspace, &user, role, now)?;
            return print(json, &info, |info| {
                println!("user {user} is {} of workspace {workspace}", info.role);
            });
        }
        MemberCommand::Remove {
            workspace,
            user,
            json,
        } => {
            backend.remove_member(&workspace, &user, now)?;
            let removed =
                serde_json::json!({"workspace": workspace, "user": user, "removed": true});
            return print(json, &removed, |_| {
                println!("user {user} removed from workspace {workspace}");
            });
        }
        MemberCommand::Invite {
            email,
            role,
            projects,
            id,
            name,
            expires,
            json,
        } => {
            let body = crate::api::InviteBody {
                email,
                role: role.as_str().to_owned(),
                projects,
                id,
                name,
                expires,
            };
            super::projects::print_member(&backend.invite(body, now)?, json)?;
        }
        MemberCommand::Projects {
            user,
            projects,
            role,
            expires,
            json,
        } => {
            let body = crate::api::ProjectsBody {
                project_ids: projects,
                role: role.map(|r| r.as_str().to_owned()),
                expires,
            };
            super::projects::print_member(&backend.assign_projects(&user, body, now)?, json)?;
        }
        MemberCommand::List { workspace, json } => {
            let list = backend.members(&workspace)?;
            return print(json, &list, |list| {
                for m in &list.members {
                    println!("{:<24} {}", m.user, m.role);
                }
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a `group` command.
pub(crate) fn group(backend: &Backend, cmd: GroupCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    match cmd {
        GroupCommand::Put {
            group,
            workspace,
            name,
            members,
            json,
        } => {
            let body = GroupBody {
                name,
                members: members.into_iter().collect(),
            };
            let info = backend.put_group(&workspace, &group, body, now)?;
            print(json, &info, |info| {
                let members: Vec<&str> = info.members.iter().map(Id::as_str).collect();
                println!(
                    "group {group} of workspace {workspace}: {} [{}]",
                    info.name,
                    members.join(", ")
                );
            })
        }
        GroupCommand::Remove {
            group,
            workspace,
            json,
        } => {
            backend.remove_group(&workspace, &group, now)?;
            let removed = serde_json::json!({"id": group, "workspace": workspace, "removed": true});
            print(json, &removed, |_| {
                println!("group {group} removed from workspace {workspace}");
            })
        }
    }
}

/// Runs `table access`: sets and prints the table's access.
pub(crate) fn access(
    backend: &Backend,
    args: TableAccessArgs,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    if args.mode != ShareMode::Specific && !args.people.is_empty() {
        bail!("--person is only taken with --mode specific");
    }
    let settings = ShareSettings {
        people: args.people,
        ..ShareSettings::from_mode(args.mode)
    };
    let info = backend.set_access(&args.table, &settings, now)?;
    let mode = serde_json::to_value(info.settings.mode)?;
    print(args.json, &info, |info| {
        println!(
            "table {} access: {}",
            info.table,
            mode.as_str().unwrap_or("?")
        );
        for entry in &info.settings.people {
            let who = match &entry.person {
                Person::User(id) => format!("user:{id}"),
                Person::Group(id) => format!("group:{id}"),
            };
            println!("  {who}={}", entry.level);
        }
    })
}

/// Runs `table permissions`: sets the table's access from a Schema
/// Builder body and prints the result as JSON.
pub(crate) fn permissions(
    backend: &Backend,
    args: TablePermissionsArgs,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    let mut text = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut text)
            .context("cannot read stdin")?;
    } else {
        text = std::fs::read(&args.file)
            .with_context(|| format!("cannot read --json {}", args.file.display()))?;
    }
    let permissions = parse_schema_permissions(&text)
        .map_err(|e| anyhow!("--json {}: {e}", args.file.display()))?;
    // Always JSON: Schema Builder's body in, the table's access out.
    print(
        true,
        &backend.set_permissions(&args.table, &permissions, now)?,
        |_| {},
    )
}
