//! What the catalog says about schema `public` and the project's schema: [read](read) in a few
//! small statements, then reasoned about without the database.

mod read;

use std::collections::BTreeMap;

use serde::Deserialize;

/// An object in the catalog: relations, types and routines live in separate catalogs, so their
/// OIDs are only unique within their kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Relation,
    Type,
    Function,
}

/// One object of [`Kind`], by OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjectId {
    pub(crate) kind: Kind,
    pub(crate) oid: u32,
}

impl ObjectId {
    pub(crate) fn relation(oid: u32) -> Self {
        Self {
            kind: Kind::Relation,
            oid,
        }
    }

    pub(crate) fn type_(oid: u32) -> Self {
        Self {
            kind: Kind::Type,
            oid,
        }
    }

    pub(crate) fn function(oid: u32) -> Self {
        Self {
            kind: Kind::Function,
            oid,
        }
    }
}

/// The catalog as relocation sees it: what [`Catalog::read`] found.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Catalog {
    pub(crate) server_major: u32,
    /// The session user: the admin cotenant connected as.
    pub(crate) admin: String,
    pub(crate) database: String,
    /// The owner of the project's schema, when the schema exists.
    pub(crate) target_owner: Option<String>,
    pub(crate) app_exists: bool,
    pub(crate) admin_can_set_steward: bool,
    /// Tables, partitions, views, materialized views, sequences and foreign tables in public.
    pub(crate) relations: Vec<Relation>,
    /// Standalone types in public: enums, domains, ranges and composite types.
    pub(crate) types: Vec<Type>,
    /// Routines in public.
    pub(crate) functions: Vec<Function>,
    /// Text bodies of routines outside public that mention `public`.
    pub(crate) outside_bodies: Vec<Body>,
    /// Triggers on `auth.users` that execute a routine of public.
    #[serde(default)]
    pub(crate) signup_triggers: Vec<SignupTrigger>,
    /// How to spell each type a routine in public takes.
    pub(crate) labels: Vec<TypeLabel>,
    pub(crate) uses: Vec<Use>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
    /// Publications that publish every table of public.
    pub(crate) schema_publications: Vec<String>,
    pub(crate) taken: Taken,
}

/// Who owns an object, and whether the admin can act as that role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Ownership {
    pub(crate) owner: String,
    pub(crate) owner_superuser: bool,
    /// `pg_has_role(session_user, owner, 'USAGE')`: the admin has the owner's privileges.
    pub(crate) admin_acts: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Relation {
    pub(crate) oid: u32,
    pub(crate) name: String,
    /// `relkind`: `r` table, `p` partitioned table, `v` view, `m` materialized view, `S`
    /// sequence, `f` foreign table.
    pub(crate) kind: String,
    #[serde(flatten)]
    pub(crate) ownership: Ownership,
    pub(crate) partition_of: Option<u32>,
    /// Takes part in (non-partition) table inheritance.
    pub(crate) inheritance: bool,
    pub(crate) extension: bool,
    /// For a sequence: the table whose column owns it (serial and identity columns).
    pub(crate) owned_by: Option<u32>,
    /// Roles other than the owner holding privileges, table- or column-level.
    pub(crate) grantees: Vec<String>,
    pub(crate) indexes: Vec<String>,
    pub(crate) policies: Vec<Policy>,
    pub(crate) publications: Vec<Publication>,
}

impl Relation {
    pub(crate) fn is_table(&self) -> bool {
        matches!(self.kind.as_str(), "r" | "p")
    }

    pub(crate) fn is_view(&self) -> bool {
        matches!(self.kind.as_str(), "v" | "m")
    }

    pub(crate) fn is_sequence(&self) -> bool {
        self.kind == "S"
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Policy {
    pub(crate) name: String,
    /// `PUBLIC` when the policy applies to everyone.
    pub(crate) roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Publication {
    pub(crate) name: String,
    pub(crate) owner: String,
    pub(crate) admin_acts: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Type {
    pub(crate) oid: u32,
    pub(crate) name: String,
    /// `typtype`: `e` enum, `d` domain, `r` range, `c` composite.
    pub(crate) kind: String,
    #[serde(flatten)]
    pub(crate) ownership: Ownership,
    pub(crate) extension: bool,
    pub(crate) array_name: Option<String>,
    pub(crate) grantees: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Function {
    pub(crate) oid: u32,
    pub(crate) name: String,
    /// `prokind`: `f` function, `p` procedure, `a` aggregate, `w` window function.
    pub(crate) kind: String,
    /// The input argument types, by OID: what identifies the routine.
    pub(crate) arg_types: Vec<u32>,
    #[serde(flatten)]
    pub(crate) ownership: Ownership,
    pub(crate) extension: bool,
    pub(crate) security_definer: bool,
    /// The routine's own `search_path` setting, as stored.
    pub(crate) search_path: Option<String>,
    /// The body of an SQL or PL/pgSQL routine kept as text (resolved when it runs).
    pub(crate) body: Option<String>,
    /// `pg_get_functiondef`, for routines of public whose text body names public.
    pub(crate) definition: Option<String>,
    pub(crate) grantees: Vec<String>,
}

/// The table every project's signups insert into on Supabase: a trigger there runs for all of
/// them.
pub(crate) const SIGNUP_TABLE: &str = "auth.users";

/// A trigger on [`SIGNUP_TABLE`] that executes a routine of public.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SignupTrigger {
    pub(crate) name: String,
    pub(crate) function: u32,
    /// `AFTER INSERT … FOR EACH ROW` without a `WHEN` clause: what a signup hook replaces.
    pub(crate) after_insert_per_row: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Body {
    pub(crate) label: String,
    pub(crate) body: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TypeLabel {
    pub(crate) oid: u32,
    /// For an array type, its element type.
    pub(crate) element: Option<u32>,
    pub(crate) label: String,
}

/// `user` depends on `used` (which is in public).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Use {
    pub(crate) user_kind: Kind,
    pub(crate) user_oid: u32,
    pub(crate) user_label: String,
    pub(crate) user_in_public: bool,
    pub(crate) used_kind: Kind,
    pub(crate) used: u32,
    pub(crate) used_label: String,
    /// `column`, `default`, `trigger`, `view`, `signature` or `type`.
    pub(crate) how: String,
}

impl Use {
    pub(crate) fn user(&self) -> ObjectId {
        ObjectId {
            kind: self.user_kind,
            oid: self.user_oid,
        }
    }

    pub(crate) fn used(&self) -> ObjectId {
        ObjectId {
            kind: self.used_kind,
            oid: self.used,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ForeignKey {
    pub(crate) name: String,
    pub(crate) from: u32,
    pub(crate) from_label: String,
    pub(crate) from_in_public: bool,
    pub(crate) to: u32,
    pub(crate) to_label: String,
    pub(crate) to_in_public: bool,
}

/// Names already used in the project's schema.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Taken {
    pub(crate) relations: Vec<String>,
    pub(crate) types: Vec<String>,
    pub(crate) functions: Vec<TakenFunction>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TakenFunction {
    pub(crate) name: String,
    pub(crate) arg_types: Vec<u32>,
}

impl Catalog {
    /// PostgreSQL 16 added membership grant options (`WITH INHERIT …, SET …`).
    pub(crate) fn has_grant_options(&self) -> bool {
        self.server_major >= 16
    }

    /// Lookup tables by OID.
    pub(crate) fn index(&self) -> Index<'_> {
        Index {
            relations: self.relations.iter().map(|r| (r.oid, r)).collect(),
            types: self.types.iter().map(|t| (t.oid, t)).collect(),
            functions: self.functions.iter().map(|f| (f.oid, f)).collect(),
            labels: self.labels.iter().map(|l| (l.oid, l)).collect(),
        }
    }
}

/// The catalog's objects in public by OID.
pub(crate) struct Index<'a> {
    pub(crate) relations: BTreeMap<u32, &'a Relation>,
    pub(crate) types: BTreeMap<u32, &'a Type>,
    pub(crate) functions: BTreeMap<u32, &'a Function>,
    pub(crate) labels: BTreeMap<u32, &'a TypeLabel>,
}
