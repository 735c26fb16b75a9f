//! `tessera view …`, `tessera table …`, `tessera workspace …`: registering
//! workspaces, tables and views, and a view's settings.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand};

use crate::api::ViewInfo;
use crate::model::{Id, ViewSetting};

use super::backend::Backend;
use super::output::print;

/// The settings flags of `view set`.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Rows may be edited or deleted (write, delete).
    #[arg(long)]
    pub editable: Option<bool>,
    /// Rows may be added (create).
    #[arg(long)]
    pub addable: Option<bool>,
    /// Data may be exported (export).
    #[arg(long)]
    pub exportable: Option<bool>,
    /// Anyone may read the view without a token (never write).
    #[arg(long)]
    pub public: Option<bool>,
    /// Nobody may change the view's configuration (manage).
    #[arg(long)]
    pub locked: Option<bool>,
}

impl SettingsArgs {
    fn changes(&self) -> Vec<(&'static str, bool)> {
        ViewSetting::changes([
            self.editable,
            self.addable,
            self.exportable,
            self.public,
            self.locked,
        ])
    }
}

/// `tessera view …`
#[derive(Debug, Subcommand)]
pub enum ViewCommand {
    /// Register a view (with --table and --workspace) or change its settings.
    #[command(group(ArgGroup::new("placement").args(["table"]).requires("workspace")))]
    Set {
        /// The view.
        view: Id,
        /// The table it shows (required for a new view).
        #[arg(long)]
        table: Option<Id>,
        /// The table's workspace.
        #[arg(long, requires = "table")]
        workspace: Option<Id>,
        /// The settings to change.
        #[command(flatten)]
        settings: SettingsArgs,
        /// Who sees it and who configures it: personal (its creator only),
        /// shared, or locked (shared; only its creator changes its configuration).
        #[arg(long)]
        visibility: Option<String>,
        /// The view's creator (a registered user).
        #[arg(long)]
        creator: Option<Id>,
        /// Print the view as JSON (as `view show --json`).
        #[arg(long)]
        json: bool,
    },
    /// Show a view: its table, workspace and settings.
    Show {
        /// The view.
        view: Id,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera table …`
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Register a table in a workspace.
    Set {
        /// The table.
        table: Id,
        /// Its workspace.
        #[arg(long)]
        workspace: Id,
        /// Print the table as JSON (`id`, `workspace`, `views`: the admin API's table).
        #[arg(long)]
        json: bool,
    },
    /// Set a table's access in TinyTables' words (private, workspace, specific people).
    Access(super::people::TableAccessArgs),
    /// Set a table's access in Schema Builder's words (structure and record modes).
    Permissions(super::people::TablePermissionsArgs),
}

/// `tessera workspace …`
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Register a workspace.
    Set {
        /// The workspace.
        workspace: Id,
        /// Print the workspace as JSON (`id`, `name`, `tables`: the admin API's workspace).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `view` command and prints the view.
pub(crate) fn view(backend: &Backend, cmd: ViewCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    let (view, info, json) = match cmd {
        ViewCommand::Set {
            view,
            table,
            workspace,
            settings,
            visibility,
            creator,
            json,
        } => {
            let placement = table.as_ref().zip(workspace.as_ref());
            let owner = (creator, visibility);
            let info = backend.set_view(&view, placement, &settings.changes(), owner, now)?;
            (view, info, json)
        }
        ViewCommand::Show { view, json } => {
            let info = backend.view(&view)?;
            (view, info, json)
        }
    };
    // The admin API's view (`id`, …), with `view` (the same id) and
    // `creator` (null when none) as `view show --json` always printed them.
    let mut shown = serde_json::to_value(&info)?;
    shown["view"] = serde_json::json!(view);
    shown["creator"] = serde_json::json!(info.creator);
    print(json, &shown, |_| print_view(&view, &info))
}

fn print_view(view: &Id, info: &ViewInfo) {
    println!("view        {view}");
    println!("table       {}", info.table);
    println!(
        "workspace   {}",
        info.workspace.as_ref().map(Id::as_str).unwrap_or("-")
    );
    for (name, value) in info.settings.entries() {
        println!("{name:<11} {value}");
    }
    println!("visibility  {}", info.visibility);
    if let Some(creator) = &info.creator {
        println!("creator     {creator}");
    }
}

/// Registers a table.
pub(crate) fn table(backend: &Backend, cmd: TableCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    let (table, workspace, json) = match cmd {
        TableCommand::Set {
            table,
            workspace,
            json,
        } => (table, workspace, json),
        TableCommand::Access(args) => return super::people::access(backend, args, now),
        TableCommand::Permissions(args) => return super::people::permissions(backend, args, now),
    };
    let info = backend.set_table(&table, &workspace, now)?;
    print(json, &info, |_| {
        println!("table {table} registered in workspace {workspace}");
    })
}

/// Registers a workspace.
pub(crate) fn workspace(
    backend: &Backend,
    cmd: WorkspaceCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    let WorkspaceCommand::Set { workspace, json } = cmd;
    let info = backend.set_workspace(&workspace, now)?;
    print(json, &info, |_| {
        println!("workspace {workspace} registered")
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command, ViewCommand};
    use crate::model::ViewSetting;

    #[test]
    fn each_view_set_flag_is_named_as_the_setting_it_changes() {
        for flip in [false, true] {
            let values: Vec<(ViewSetting, bool)> = ViewSetting::ALL
                .into_iter()
                .enumerate()
                .map(|(i, s)| (s, (i % 2 == 0) ^ flip))
                .collect();
            let mut argv = vec![
                "tessera".to_owned(),
                "view".into(),
                "set".into(),
                "v_1".into(),
            ];
            for (s, v) in &values {
                argv.push(format!("--{s}"));
                argv.push(v.to_string());
            }
            let Command::View(ViewCommand::Set { settings, .. }) =
                Cli::try_parse_from(&argv).unwrap().command
            else {
                panic!("{argv:?} is not `view set`");
            };
            let expected: Vec<(&str, bool)> =
                values.iter().map(|(s, v)| (s.as_str(), *v)).collect();
            assert_eq!(settings.changes(), expected, "{argv:?}");
        }
    }
}
