//! The kinds of objects relocation moves, and how they are named in reports and in SQL.

use std::fmt;

use super::catalog::{Index, Kind, ObjectId};

/// What kind of object moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A plain table.
    Table,
    /// A partitioned table (its partitions move with it).
    PartitionedTable,
    /// A partition of a moved partitioned table.
    Partition,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// A sequence.
    Sequence,
    /// A foreign table (not relocated).
    ForeignTable,
    /// An enum type.
    Enum,
    /// A domain.
    Domain,
    /// A composite type.
    CompositeType,
    /// A range type (not relocated).
    RangeType,
    /// A function.
    Function,
    /// A procedure.
    Procedure,
    /// An aggregate (not relocated).
    Aggregate,
}

impl ObjectKind {
    /// The keyword of `ALTER <keyword> … SET SCHEMA`.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            ObjectKind::Table | ObjectKind::PartitionedTable | ObjectKind::Partition => "TABLE",
            ObjectKind::View => "VIEW",
            ObjectKind::MaterializedView => "MATERIALIZED VIEW",
            ObjectKind::Sequence => "SEQUENCE",
            ObjectKind::ForeignTable => "FOREIGN TABLE",
            ObjectKind::Domain => "DOMAIN",
            ObjectKind::Enum | ObjectKind::CompositeType | ObjectKind::RangeType => "TYPE",
            ObjectKind::Function => "FUNCTION",
            ObjectKind::Procedure => "PROCEDURE",
            ObjectKind::Aggregate => "AGGREGATE",
        }
    }

    /// The keyword of `GRANT … ON <keyword>`.
    pub(crate) fn grant_keyword(self) -> &'static str {
        match self {
            ObjectKind::View | ObjectKind::MaterializedView | ObjectKind::ForeignTable => "TABLE",
            other => other.keyword(),
        }
    }

    /// The privileges `<p>_app` gets, as the project's default privileges give them to new
    /// objects of the kind.
    pub(crate) fn app_privileges(self) -> &'static str {
        match self {
            ObjectKind::Sequence => "USAGE, SELECT",
            ObjectKind::Enum
            | ObjectKind::Domain
            | ObjectKind::CompositeType
            | ObjectKind::RangeType => "USAGE",
            ObjectKind::Function | ObjectKind::Procedure | ObjectKind::Aggregate => "EXECUTE",
            _ => "SELECT, INSERT, UPDATE, DELETE",
        }
    }

    /// Whether rows live in it: the relations whose rows verification counts.
    pub(crate) fn has_rows(self) -> bool {
        matches!(
            self,
            ObjectKind::Table | ObjectKind::Partition | ObjectKind::MaterializedView
        )
    }

    /// Whether it is a relation with a row type named like it.
    pub(crate) fn has_row_type(self) -> bool {
        matches!(
            self,
            ObjectKind::Table
                | ObjectKind::PartitionedTable
                | ObjectKind::Partition
                | ObjectKind::View
                | ObjectKind::MaterializedView
                | ObjectKind::ForeignTable
        )
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Table => "table",
            ObjectKind::PartitionedTable => "partitioned table",
            ObjectKind::Partition => "partition",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Sequence => "sequence",
            ObjectKind::ForeignTable => "foreign table",
            ObjectKind::Enum => "enum type",
            ObjectKind::Domain => "domain",
            ObjectKind::CompositeType => "composite type",
            ObjectKind::RangeType => "range type",
            ObjectKind::Function => "function",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Aggregate => "aggregate",
        })
    }
}

impl Index<'_> {
    /// Whether `id` is an object of public that the catalog read describes.
    pub(crate) fn contains(&self, id: ObjectId) -> bool {
        match id.kind {
            Kind::Relation => self.relations.contains_key(&id.oid),
            Kind::Type => self.types.contains_key(&id.oid),
            Kind::Function => self.functions.contains_key(&id.oid),
        }
    }

    /// The kind of an object of public.
    pub(crate) fn kind(&self, id: ObjectId) -> ObjectKind {
        match id.kind {
            Kind::Relation => {
                let r = self.relations[&id.oid];
                match r.kind.as_str() {
                    "p" => ObjectKind::PartitionedTable,
                    "r" if r.partition_of.is_some() => ObjectKind::Partition,
                    "v" => ObjectKind::View,
                    "m" => ObjectKind::MaterializedView,
                    "S" => ObjectKind::Sequence,
                    "f" => ObjectKind::ForeignTable,
                    _ => ObjectKind::Table,
                }
            }
            Kind::Type => match self.types[&id.oid].kind.as_str() {
                "e" => ObjectKind::Enum,
                "d" => ObjectKind::Domain,
                "r" => ObjectKind::RangeType,
                _ => ObjectKind::CompositeType,
            },
            Kind::Function => match self.functions[&id.oid].kind.as_str() {
                "p" => ObjectKind::Procedure,
                "a" => ObjectKind::Aggregate,
                _ => ObjectKind::Function,
            },
        }
    }

    /// The name of an object of public.
    pub(crate) fn name(&self, id: ObjectId) -> &str {
        match id.kind {
            Kind::Relation => &self.relations[&id.oid].name,
            Kind::Type => &self.types[&id.oid].name,
            Kind::Function => &self.functions[&id.oid].name,
        }
    }

    /// How a report names an object of public, e.g. `table public.contacts`.
    pub(crate) fn describe(&self, id: ObjectId) -> String {
        format!(
            "{} {}",
            self.kind(id),
            self.label(id, "public", self.name(id))
        )
    }

    /// How a report names an object by schema and name: a routine with its argument types.
    pub(crate) fn label(&self, id: ObjectId, schema: &str, name: &str) -> String {
        match id.kind {
            Kind::Function => format!("{schema}.{name}({})", self.arguments(id.oid)),
            _ => format!("{schema}.{name}"),
        }
    }

    /// A routine's argument types as the server spells them, for reports.
    fn arguments(&self, oid: u32) -> String {
        self.functions[&oid]
            .arg_types
            .iter()
            .map(|t| {
                self.labels
                    .get(t)
                    .map_or_else(|| t.to_string(), |l| l.label.clone())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
