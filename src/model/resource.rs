//! What a right is about: the closed set of [`Operation`]s, the three
//! [`ResourceKind`]s, a [`Resource`] and a [`Right`].

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{by_name, ModelError};
use super::id::Id;

/// What a request does to a resource: the closed set of operations.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// See rows.
    Read,
    /// Edit rows.
    Write,
    /// Add rows.
    Create,
    /// Delete rows.
    Delete,
    /// Download the data.
    Export,
    /// Change columns, structure or view configuration.
    Manage,
    /// Issue guest tokens for the resource.
    Share,
    /// Delete the resource itself: a table, or a whole workspace
    /// (vocabulary `tessera(2)`).
    Drop,
    /// Manage the workspace's billing (vocabulary `tessera(2)`).
    Billing,
    /// Change the workspace's settings (vocabulary `tessera(2)`).
    Settings,
}

impl Operation {
    /// The operations on data, vocabulary `tessera(1)`, in a stable order:
    /// what API keys and guests are granted.
    pub const ALL: [Operation; 7] = [
        Operation::Read,
        Operation::Write,
        Operation::Create,
        Operation::Delete,
        Operation::Export,
        Operation::Manage,
        Operation::Share,
    ];

    /// The operations on a resource's life and its workspace that
    /// vocabulary `tessera(2)` added: drop, billing, settings.
    pub const LIFECYCLE: [Operation; 3] =
        [Operation::Drop, Operation::Billing, Operation::Settings];

    /// Every operation, both vocabularies, in a stable order: [`Operation::ALL`]
    /// then [`Operation::LIFECYCLE`].
    pub const EVERY: [Operation; 10] = {
        let mut every = [Operation::Read; 10];
        let mut i = 0;
        while i < Operation::ALL.len() {
            every[i] = Operation::ALL[i];
            i += 1;
        }
        while i < every.len() {
            every[i] = Operation::LIFECYCLE[i - Operation::ALL.len()];
            i += 1;
        }
        every
    };

    /// The first vocabulary version that names this operation.
    pub fn vocabulary(self) -> i64 {
        if Operation::LIFECYCLE.contains(&self) {
            2
        } else {
            1
        }
    }

    /// The lower-case name used in Datalog and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Write => "write",
            Operation::Create => "create",
            Operation::Delete => "delete",
            Operation::Export => "export",
            Operation::Manage => "manage",
            Operation::Share => "share",
            Operation::Drop => "drop",
            Operation::Billing => "billing",
            Operation::Settings => "settings",
        }
    }

    /// Parses a comma-separated list (`read,write`) into a non-empty set.
    pub fn parse_list(s: &str) -> Result<BTreeSet<Operation>, ModelError> {
        let ops = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Operation::from_str)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if ops.is_empty() {
            return Err(ModelError::NoOperations);
        }
        Ok(ops)
    }
}

impl FromStr for Operation {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(&Self::EVERY, Self::as_str, s, ModelError::UnknownOperation)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The three levels of the resource model: `workspace ⊃ table ⊃ view`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// A workspace (a seed's "project").
    Workspace,
    /// A table (a seed's "schema").
    Table,
    /// A view of a table.
    View,
}

impl ResourceKind {
    /// Every kind, from the outermost.
    pub const ALL: [ResourceKind; 3] = [
        ResourceKind::Workspace,
        ResourceKind::Table,
        ResourceKind::View,
    ];

    /// The lower-case name used in Datalog and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Workspace => "workspace",
            ResourceKind::Table => "table",
            ResourceKind::View => "view",
        }
    }
}

impl FromStr for ResourceKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(&Self::ALL, Self::as_str, s, ModelError::UnknownResourceKind)
    }
}

/// One workspace, table or view.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Resource {
    /// Which level of the model.
    pub kind: ResourceKind,
    /// Its id.
    pub id: Id,
}

impl Resource {
    /// A workspace resource.
    pub fn workspace(id: Id) -> Self {
        Resource {
            kind: ResourceKind::Workspace,
            id,
        }
    }
    /// A table resource.
    pub fn table(id: Id) -> Self {
        Resource {
            kind: ResourceKind::Table,
            id,
        }
    }
    /// A view resource.
    pub fn view(id: Id) -> Self {
        Resource {
            kind: ResourceKind::View,
            id,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

/// One `right(kind, id, operation)` fact.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Right {
    /// What the right is on.
    pub resource: Resource,
    /// What it allows.
    pub operation: Operation,
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.operation)
    }
}
