//! Reading the catalog: up to three small statements, put together here.
//!
//! Relocation reads the catalog inside its transaction, so the read is built to be cheap. A query
//! that gathers everything at once costs far more to parse and plan than to run (most of the
//! ~10 ms it took), and the cost grows with its size; small lists of rows by OID cost little.
//! So the reads go in steps, each one statement:
//! 1. `objects.sql`: the objects of public and of the project's schema, and the instance's facts;
//! 2. `links.sql`: what is attached to them and what depends on them, by their OIDs;
//! 3. `details.sql`, only when something outside public depends on an object of public: those
//!    dependents, by OID.
//!
//! The joins between the lists are made here, with the same meaning the one query had: the
//! [`Catalog`] that comes out is the same.
//!
//! Outside a transaction (a dry run) each step sees the catalog as of its own start; what
//! changes in between is at worst seen late, as it would be by a single read taken later.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type as PgType};

use super::{
    Body, Catalog, ForeignKey, Function, Kind, Ownership, Policy, Publication, Relation,
    SIGNUP_TABLE, SignupTrigger, Taken, TakenFunction, Type, TypeLabel, Use,
};
use crate::ProjectName;
use crate::relocate::RelocateError;

/// The OIDs of the system catalogs that dependencies name (`classid`, `refclassid`): fixed in
/// PostgreSQL's catalog headers, the same in every version.
const PG_CLASS: u32 = 1259;
const PG_TYPE: u32 = 1247;
const PG_PROC: u32 = 1255;
const PG_ATTRDEF: u32 = 2604;
const PG_TRIGGER: u32 = 2620;
const PG_REWRITE: u32 = 2618;
const PG_CONSTRAINT: u32 = 2606;

impl Catalog {
    /// Reads the catalog as the admin behind `client` sees it.
    pub(crate) async fn read(
        client: &impl GenericClient,
        project: &ProjectName,
        steward: &str,
    ) -> Result<Self, RelocateError> {
        let app = project.roles().app;
        let objects: Objects = fetch(
            client,
            project,
            include_str!("../../../sql/relocate/catalog/objects.sql"),
            &[
                (&project.as_str(), PgType::TEXT),
                (&app, PgType::TEXT),
                (&steward, PgType::TEXT),
            ],
        )
        .await?;
        let links: Links = parts(client, project, links_sql(), &objects.link_requests()).await?;
        let details: Details = parts(
            client,
            project,
            details_sql(),
            &objects.detail_requests(&links),
        )
        .await?;
        Ok(objects.assemble(links, details))
    }
}

/// One statement's JSON document, decoded.
async fn fetch<T: DeserializeOwned>(
    client: &impl GenericClient,
    project: &ProjectName,
    sql: &str,
    params: &[(&(dyn ToSql + Sync), PgType)],
) -> Result<T, RelocateError> {
    let row = client
        .query_typed_one(sql, params)
        .await
        .map_err(|source| RelocateError::Catalog {
            project: project.clone(),
            source,
        })?;
    let json: String = row.get(0);
    serde_json::from_str(&json).map_err(|source| RelocateError::CatalogDecode {
        project: project.clone(),
        source,
    })
}

/// The named parts of `links.sql` or `details.sql`: each a query of one list, with `$1` its
/// array of OIDs.
type Parts = Vec<(&'static str, String)>;

fn links_sql() -> &'static Parts {
    static PARTS: OnceLock<Parts> = OnceLock::new();
    PARTS.get_or_init(|| split_parts(include_str!("../../../sql/relocate/catalog/links.sql")))
}

fn details_sql() -> &'static Parts {
    static PARTS: OnceLock<Parts> = OnceLock::new();
    PARTS.get_or_init(|| split_parts(include_str!("../../../sql/relocate/catalog/details.sql")))
}

/// Splits a file of parts, each introduced by a comment line `-- @name: …`; comment lines are
/// left out.
fn split_parts(file: &'static str) -> Parts {
    let mut parts: Parts = Vec::new();
    for line in file.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("-- @") {
            let name = rest.split(':').next().unwrap_or(rest).trim();
            parts.push((name, String::new()));
        } else if !trimmed.starts_with("--")
            && !trimmed.is_empty()
            && let Some((_, sql)) = parts.last_mut()
        {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    parts
}

/// Asks for the parts with a non-empty array of OIDs, in one statement: `{"<part>": [rows]}`;
/// the others are absent, and decode as empty. Without any, asks nothing.
async fn parts<T: DeserializeOwned + Default>(
    client: &impl GenericClient,
    project: &ProjectName,
    parts: &Parts,
    requests: &[(&str, Vec<u32>)],
) -> Result<T, RelocateError> {
    let mut sql = String::from("SELECT jsonb_build_object(");
    let mut params: Vec<(&(dyn ToSql + Sync), PgType)> = Vec::new();
    for (name, oids) in requests.iter().filter(|(_, oids)| !oids.is_empty()) {
        let Some((_, part)) = parts.iter().find(|(n, _)| n == name) else {
            continue;
        };
        params.push((oids, PgType::OID_ARRAY));
        if params.len() > 1 {
            sql.push_str(",\n");
        }
        let part = part.replace("$1", &format!("${}", params.len()));
        sql.push_str(&format!(
            "'{name}', (SELECT coalesce(jsonb_agg(x), '[]') FROM (\n{part}) x)"
        ));
    }
    if params.is_empty() {
        return Ok(T::default());
    }
    sql.push_str(")::text");
    fetch(client, project, &sql, &params).await
}

/// What `objects.sql` returns.
#[derive(Debug, Deserialize)]
struct Objects {
    #[serde(deserialize_with = "oid::one")]
    server_major: u32,
    admin: String,
    database: String,
    /// Schema public's OID (none when it was dropped).
    #[serde(deserialize_with = "oid::optional")]
    public: Option<u32>,
    /// The project's schema's OID, when it exists.
    #[serde(deserialize_with = "oid::optional")]
    target: Option<u32>,
    /// PostgreSQL's own schemas.
    #[serde(deserialize_with = "oid::many")]
    system: Vec<u32>,
    target_owner: Option<String>,
    app_exists: bool,
    admin_can_set_steward: bool,
    relations: Vec<RawRelation>,
    types: Vec<RawType>,
    /// By label, in the database's collation.
    functions: Vec<RawFunction>,
}

#[derive(Debug, Deserialize)]
struct RawRelation {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    name: String,
    kind: String,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    #[serde(deserialize_with = "oid::one")]
    owner: u32,
    partition: bool,
    label: String,
}

#[derive(Debug, Deserialize)]
struct RawType {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    name: String,
    kind: String,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    #[serde(deserialize_with = "oid::one")]
    owner: u32,
    /// `typrelid`: a composite type's relation.
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    array_type: u32,
    /// `typelem`.
    #[serde(deserialize_with = "oid::one")]
    element: u32,
    /// `typbasetype`: a domain's base type.
    #[serde(deserialize_with = "oid::one")]
    base: u32,
    label: String,
}

#[derive(Debug, Deserialize)]
struct RawFunction {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    name: String,
    kind: String,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    #[serde(deserialize_with = "oid::one")]
    owner: u32,
    #[serde(deserialize_with = "oid::many")]
    arg_types: Vec<u32>,
    security_definer: bool,
    config: Option<Vec<String>>,
    body: Option<String>,
    mentions_public: bool,
    definition: Option<String>,
    label: String,
}

/// What `links.sql` returns.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Links {
    dependencies: Vec<Dependency>,
    relation_grantees: Vec<Grantees>,
    type_grantees: Vec<Grantees>,
    function_grantees: Vec<Grantees>,
    roles: Vec<Role>,
    inheritance: Vec<Inheritance>,
    indexes: Vec<IndexOf>,
    policies: Vec<RawPolicy>,
    publications: Vec<RawPublication>,
    schema_publications: Vec<Named>,
    foreign_keys: Vec<OwnForeignKey>,
    view_reads: Vec<ViewRead>,
    argument_types: Vec<ArgumentType>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct Dependency {
    #[serde(deserialize_with = "oid::one")]
    classid: u32,
    #[serde(deserialize_with = "oid::one")]
    objid: u32,
    objsubid: i32,
    #[serde(deserialize_with = "oid::one")]
    refclassid: u32,
    #[serde(deserialize_with = "oid::one")]
    refobjid: u32,
    deptype: char,
}

/// The roles other than its owner that hold privileges on an object, by name in the database's
/// collation.
#[derive(Debug, Deserialize)]
struct Grantees {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    names: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Role {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    name: String,
    superuser: bool,
    admin_acts: bool,
}

#[derive(Debug, Deserialize)]
struct Inheritance {
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    parent: u32,
}

#[derive(Debug, Deserialize)]
struct IndexOf {
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    index: u32,
}

#[derive(Debug, Deserialize)]
struct RawPolicy {
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    name: String,
    roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawPublication {
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    name: String,
    owner: String,
    admin_acts: bool,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

/// A foreign key of a table of public.
#[derive(Debug, Deserialize)]
struct OwnForeignKey {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    name: String,
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    referenced: u32,
    #[serde(deserialize_with = "oid::one")]
    referenced_nsp: u32,
    referenced_label: String,
}

#[derive(Debug, Deserialize)]
struct ViewRead {
    #[serde(deserialize_with = "oid::one")]
    view: u32,
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
}

#[derive(Debug, Deserialize)]
struct ArgumentType {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    #[serde(deserialize_with = "oid::optional")]
    nsp: Option<u32>,
    format: String,
    label: Option<String>,
    #[serde(deserialize_with = "oid::optional")]
    element: Option<u32>,
    element_label: Option<String>,
}

/// What `details.sql` returns.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Details {
    columns: Vec<Column>,
    defaults: Vec<OnRelation>,
    triggers: Vec<Trigger>,
    rules: Vec<Rule>,
    constraints: Vec<Constraint>,
    routines: Vec<Routine>,
    types: Vec<DependentType>,
}

#[derive(Debug, Deserialize)]
struct Column {
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    number: i32,
    #[serde(rename = "type")]
    #[serde(deserialize_with = "oid::one")]
    type_: u32,
    kind: String,
    #[serde(deserialize_with = "oid::one")]
    row_type: u32,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
}

/// A column default, and its relation.
#[derive(Debug, Deserialize)]
struct OnRelation {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
}

#[derive(Debug, Deserialize)]
struct Trigger {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    name: String,
    #[serde(rename = "type")]
    kind: i16,
    conditional: bool,
    #[serde(deserialize_with = "oid::one")]
    function: u32,
    internal: bool,
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
}

#[derive(Debug, Deserialize)]
struct Rule {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    kind: String,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
}

#[derive(Debug, Deserialize)]
struct Constraint {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    name: String,
    #[serde(deserialize_with = "oid::one")]
    relation: u32,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
    #[serde(deserialize_with = "oid::one")]
    referenced: u32,
    #[serde(deserialize_with = "oid::one")]
    referenced_nsp: u32,
    referenced_label: String,
}

#[derive(Debug, Deserialize)]
struct Routine {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
}

#[derive(Debug, Deserialize)]
struct DependentType {
    #[serde(deserialize_with = "oid::one")]
    oid: u32,
    kind: String,
    #[serde(deserialize_with = "oid::one")]
    nsp: u32,
    label: String,
    /// A domain's base type, a range's subtype.
    #[serde(deserialize_with = "oid::optional")]
    base: Option<u32>,
}

/// OIDs as JSON gives them: `oid` is not a number type to PostgreSQL's JSON functions, so it
/// comes as a string.
mod oid {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Oid {
        Number(u32),
        Text(String),
    }

    impl Oid {
        fn value<E: Error>(self) -> Result<u32, E> {
            match self {
                Oid::Number(n) => Ok(n),
                Oid::Text(t) => t.parse().map_err(|_| E::custom(format!("not an OID: {t}"))),
            }
        }
    }

    pub(super) fn one<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        Oid::deserialize(d)?.value()
    }

    pub(super) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        Option::<Oid>::deserialize(d)?.map(Oid::value).transpose()
    }

    pub(super) fn many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
        Vec::<Oid>::deserialize(d)?
            .into_iter()
            .map(Oid::value)
            .collect()
    }
}

/// A user of an object of public, as a use names it.
struct User<'a> {
    kind: Kind,
    oid: u32,
    label: &'a str,
    nsp: u32,
}

impl Objects {
    fn in_public(&self, nsp: u32) -> bool {
        Some(nsp) == self.public
    }

    fn in_target(&self, nsp: u32) -> bool {
        Some(nsp) == self.target
    }

    fn is_system(&self, nsp: u32) -> bool {
        self.system.contains(&nsp)
    }

    fn public_relations(&self) -> impl Iterator<Item = &RawRelation> {
        self.relations.iter().filter(|r| self.in_public(r.nsp))
    }

    fn public_types(&self) -> impl Iterator<Item = &RawType> {
        self.types.iter().filter(|t| self.in_public(t.nsp))
    }

    fn public_functions(&self) -> impl Iterator<Item = &RawFunction> {
        self.functions.iter().filter(|f| self.in_public(f.nsp))
    }

    /// Routines outside public whose text body mentions public.
    fn outside_functions(&self) -> impl Iterator<Item = &RawFunction> {
        self.functions
            .iter()
            .filter(|f| !self.in_public(f.nsp) && f.body.is_some() && f.mentions_public)
    }

    /// The relations of public that the catalog describes.
    fn described_relations(&self) -> impl Iterator<Item = &RawRelation> {
        self.public_relations()
            .filter(|r| matches!(r.kind.as_str(), "r" | "p" | "v" | "m" | "S" | "f"))
    }

    /// The types of public that the catalog describes: enums, domains, ranges and composite
    /// types of their own (not a table's row type, not an array).
    fn described_types<'a>(&'a self, index: &'a Lookup<'a>) -> impl Iterator<Item = &'a RawType> {
        self.public_types().filter(|t| {
            let standalone = match t.kind.as_str() {
                "e" | "d" | "r" => true,
                "c" => index
                    .relations
                    .get(&t.relation)
                    .is_some_and(|r| r.kind == "c"),
                _ => false,
            };
            standalone && index.element(t).is_none()
        })
    }

    /// What `links.sql` is asked for.
    fn link_requests(&self) -> Vec<(&'static str, Vec<u32>)> {
        let index = Lookup::new(self);
        let described: Vec<u32> = self.described_relations().map(|r| r.oid).collect();
        let types: Vec<&RawType> = self.described_types(&index).collect();
        let objects: Vec<u32> = self
            .public_relations()
            .map(|r| r.oid)
            .chain(self.public_types().map(|t| t.oid))
            .chain(self.public_functions().map(|f| f.oid))
            .chain(self.outside_functions().map(|f| f.oid))
            .collect();
        let owners: BTreeSet<u32> = self
            .described_relations()
            .map(|r| r.owner)
            .chain(types.iter().map(|t| t.owner))
            .chain(self.public_functions().map(|f| f.owner))
            .collect();
        let tables: Vec<u32> = self
            .public_relations()
            .filter(|r| matches!(r.kind.as_str(), "r" | "p"))
            .map(|r| r.oid)
            .collect();
        let views: Vec<u32> = self
            .public_relations()
            .filter(|r| matches!(r.kind.as_str(), "v" | "m"))
            .map(|r| r.oid)
            .collect();
        let arguments: BTreeSet<u32> = self
            .public_functions()
            .flat_map(|f| f.arg_types.iter().copied())
            .collect();
        let functions: Vec<u32> = self.public_functions().map(|f| f.oid).collect();
        vec![
            ("dependencies", objects),
            ("roles", owners.into_iter().collect()),
            ("relation_grantees", described.clone()),
            ("type_grantees", types.iter().map(|t| t.oid).collect()),
            ("function_grantees", functions),
            ("inheritance", described.clone()),
            ("indexes", described.clone()),
            ("policies", described.clone()),
            ("publications", described),
            ("schema_publications", self.public.into_iter().collect()),
            ("foreign_keys", tables),
            ("view_reads", views),
            ("argument_types", arguments.into_iter().collect()),
        ]
    }

    /// Whether `(class, oid)` is an object of public.
    fn is_public_object(&self, class: u32, oid: u32, index: &Lookup<'_>) -> bool {
        match class {
            PG_CLASS => index
                .relations
                .get(&oid)
                .is_some_and(|r| self.in_public(r.nsp)),
            PG_TYPE => index.types.get(&oid).is_some_and(|t| self.in_public(t.nsp)),
            PG_PROC => index
                .functions
                .get(&oid)
                .is_some_and(|f| self.in_public(f.nsp)),
            _ => false,
        }
    }

    /// The dependencies on objects of public.
    fn references<'l>(&self, links: &'l Links, index: &Lookup<'_>) -> Vec<&'l Dependency> {
        links
            .dependencies
            .iter()
            .filter(|d| self.is_public_object(d.refclassid, d.refobjid, index))
            .collect()
    }

    /// What `details.sql` is asked for: the dependents outside what the first two reads
    /// describe.
    fn detail_requests(&self, links: &Links) -> Vec<(&'static str, Vec<u32>)> {
        let index = Lookup::new(self);
        let refs = self.references(links, &index);
        let own_fks: BTreeSet<u32> = links.foreign_keys.iter().map(|k| k.oid).collect();
        let mut columns = BTreeSet::new();
        let mut defaults = BTreeSet::new();
        let mut triggers = BTreeSet::new();
        let mut rules = BTreeSet::new();
        let mut constraints = BTreeSet::new();
        let mut routines = BTreeSet::new();
        let mut types = BTreeSet::new();
        for d in &refs {
            match (d.classid, d.refclassid) {
                (PG_CLASS, PG_TYPE) if d.objsubid > 0 => {
                    columns.insert(d.objid);
                }
                // A default's own table is in public when it depends on one of its columns.
                (PG_ATTRDEF, PG_CLASS)
                    if own_relation(&refs, d.classid, d.objid, &['a']).is_none() =>
                {
                    defaults.insert(d.objid);
                }
                (PG_TRIGGER, PG_PROC) => {
                    triggers.insert(d.objid);
                }
                // The rules of relations of public: their views' reads are read by view_reads.
                (PG_REWRITE, PG_CLASS)
                    if own_relation(&refs, d.classid, d.objid, &['i', 'a']).is_none() =>
                {
                    rules.insert(d.objid);
                }
                (PG_CONSTRAINT, PG_CLASS) if d.deptype == 'n' && !own_fks.contains(&d.objid) => {
                    constraints.insert(d.objid);
                }
                (PG_PROC, PG_TYPE)
                    if d.deptype == 'n' && !index.functions.contains_key(&d.objid) =>
                {
                    routines.insert(d.objid);
                }
                (PG_TYPE, PG_TYPE) => match index.types.get(&d.objid) {
                    Some(t) if t.kind != "r" => {}
                    _ => {
                        types.insert(d.objid);
                    }
                },
                _ => {}
            }
        }
        vec![
            ("columns", columns.into_iter().collect()),
            ("defaults", defaults.into_iter().collect()),
            ("triggers", triggers.into_iter().collect()),
            ("rules", rules.into_iter().collect()),
            ("constraints", constraints.into_iter().collect()),
            ("routines", routines.into_iter().collect()),
            ("types", types.into_iter().collect()),
        ]
    }

    /// The catalog from the three reads.
    fn assemble(self, links: Links, details: Details) -> Catalog {
        let index = Lookup::new(&self);
        let refs = self.references(&links, &index);
        let roles: BTreeMap<u32, &Role> = links.roles.iter().map(|r| (r.oid, r)).collect();
        let ownership = |owner: u32| {
            roles.get(&owner).map(|r| Ownership {
                owner: r.name.clone(),
                owner_superuser: r.superuser,
                admin_acts: r.admin_acts,
            })
        };
        // What the objects of public and the routines that mention public depend on.
        let own = |class: u32, oid: u32| {
            links
                .dependencies
                .iter()
                .filter(move |d| d.classid == class && d.objid == oid)
        };
        let extension = |class: u32, oid: u32| own(class, oid).any(|d| d.deptype == 'e');
        let grantees = |of: &[Grantees], oid: u32| {
            of.iter()
                .find(|g| g.oid == oid)
                .map(|g| g.names.clone())
                .unwrap_or_default()
        };

        let mut relations = Vec::new();
        for r in self.described_relations() {
            let Some(ownership) = ownership(r.owner) else {
                continue;
            };
            let parents: Vec<u32> = links
                .inheritance
                .iter()
                .filter(|i| i.relation == r.oid)
                .map(|i| i.parent)
                .collect();
            let has_children = links.inheritance.iter().any(|i| i.parent == r.oid);
            let mut indexes: Vec<String> = links
                .indexes
                .iter()
                .filter(|x| x.relation == r.oid)
                .filter_map(|x| index.relations.get(&x.index).map(|i| i.name.clone()))
                .collect();
            indexes.sort();
            let mut policies: Vec<Policy> = links
                .policies
                .iter()
                .filter(|p| p.relation == r.oid)
                .map(|p| Policy {
                    name: p.name.clone(),
                    roles: p.roles.clone(),
                })
                .collect();
            policies.sort_by(|a, b| a.name.cmp(&b.name));
            let mut publications: Vec<Publication> = links
                .publications
                .iter()
                .filter(|p| p.relation == r.oid)
                .map(|p| Publication {
                    name: p.name.clone(),
                    owner: p.owner.clone(),
                    admin_acts: p.admin_acts,
                })
                .collect();
            publications.sort_by(|a, b| a.name.cmp(&b.name));
            relations.push(Relation {
                oid: r.oid,
                name: r.name.clone(),
                kind: r.kind.clone(),
                ownership,
                partition_of: if r.partition {
                    parents.first().copied()
                } else {
                    None
                },
                inheritance: !r.partition
                    && (!parents.is_empty() || (r.kind == "r" && has_children)),
                extension: extension(PG_CLASS, r.oid),
                owned_by: if r.kind == "S" {
                    own(PG_CLASS, r.oid)
                        .find(|d| d.refclassid == PG_CLASS && matches!(d.deptype, 'a' | 'i'))
                        .map(|d| d.refobjid)
                } else {
                    None
                },
                grantees: grantees(&links.relation_grantees, r.oid),
                indexes,
                policies,
                publications,
            });
        }
        relations.sort_by(|a, b| a.name.cmp(&b.name));

        let mut types = Vec::new();
        for t in self.described_types(&index) {
            let Some(ownership) = ownership(t.owner) else {
                continue;
            };
            types.push(Type {
                oid: t.oid,
                name: t.name.clone(),
                kind: t.kind.clone(),
                ownership,
                extension: extension(PG_TYPE, t.oid),
                array_name: index.types.get(&t.array_type).map(|a| a.name.clone()),
                grantees: grantees(&links.type_grantees, t.oid),
            });
        }
        types.sort_by(|a, b| a.name.cmp(&b.name));

        let mut functions = Vec::new();
        for f in self.public_functions() {
            let Some(ownership) = ownership(f.owner) else {
                continue;
            };
            functions.push(Function {
                oid: f.oid,
                name: f.name.clone(),
                kind: f.kind.clone(),
                arg_types: f.arg_types.clone(),
                ownership,
                extension: extension(PG_PROC, f.oid),
                security_definer: f.security_definer,
                search_path: f
                    .config
                    .iter()
                    .flatten()
                    .find_map(|s| s.strip_prefix("search_path=").map(str::to_owned)),
                body: f.body.clone(),
                definition: f.definition.clone(),
                grantees: grantees(&links.function_grantees, f.oid),
            });
        }
        functions.sort_by(|a, b| a.name.cmp(&b.name).then(a.oid.cmp(&b.oid)));

        let outside_bodies = self
            .outside_functions()
            .filter(|f| !extension(PG_PROC, f.oid))
            .filter_map(|f| {
                Some(Body {
                    label: f.label.clone(),
                    body: f.body.clone()?,
                })
            })
            .collect();

        let labels = links
            .argument_types
            .iter()
            .map(|a| {
                let user_type = a.nsp.is_some_and(|nsp| !self.is_system(nsp));
                let (element, label) = match (user_type, a.element) {
                    (false, _) => (None, Some(a.format.clone())),
                    (true, Some(element)) => (
                        Some(element),
                        a.element_label.as_ref().map(|l| format!("{l}[]")),
                    ),
                    (true, None) => (None, a.label.clone()),
                };
                TypeLabel {
                    oid: a.oid,
                    element,
                    label: label.unwrap_or_default(),
                }
            })
            .collect();

        let uses = self.uses(&index, &refs, &links, &details);
        let signup_triggers = details
            .triggers
            .iter()
            .filter(|t| !t.internal && t.label == SIGNUP_TABLE)
            .map(|t| SignupTrigger {
                name: t.name.clone(),
                function: t.function,
                // FOR EACH ROW (1) | INSERT (4), and neither BEFORE (2) nor INSTEAD OF (64),
                // nor UPDATE, DELETE or TRUNCATE.
                after_insert_per_row: t.kind == 1 | 4 && !t.conditional,
            })
            .collect();
        let foreign_keys = self.foreign_keys(&index, &links, &details);
        let mut schema_publications: Vec<String> = links
            .schema_publications
            .iter()
            .map(|p| p.name.clone())
            .collect();
        schema_publications.sort();
        let taken = Taken {
            relations: self
                .relations
                .iter()
                .filter(|r| self.in_target(r.nsp))
                .map(|r| r.name.clone())
                .collect(),
            types: self
                .types
                .iter()
                .filter(|t| self.in_target(t.nsp))
                .map(|t| t.name.clone())
                .collect(),
            functions: self
                .functions
                .iter()
                .filter(|f| self.in_target(f.nsp))
                .map(|f| TakenFunction {
                    name: f.name.clone(),
                    arg_types: f.arg_types.clone(),
                })
                .collect(),
        };
        Catalog {
            server_major: self.server_major,
            admin: self.admin,
            database: self.database,
            target_owner: self.target_owner,
            app_exists: self.app_exists,
            admin_can_set_steward: self.admin_can_set_steward,
            relations,
            types,
            functions,
            outside_bodies,
            signup_triggers,
            labels,
            uses,
            foreign_keys,
            schema_publications,
            taken,
        }
    }

    /// What depends on what, as (user, used) pairs where one side is in public: columns'
    /// types, defaults' sequences, triggers' routines, what views read, routines' signatures,
    /// the base types of domains and the subtypes of ranges.
    fn uses(
        &self,
        index: &Lookup<'_>,
        refs: &[&Dependency],
        links: &Links,
        details: &Details,
    ) -> Vec<Use> {
        // Ordered and without duplicates: by how, then user, then used.
        let mut found: BTreeMap<(u8, Kind, u32, u32), Use> = BTreeMap::new();
        let mut add = |rank: u8, how: &str, user: User<'_>, used: (Kind, u32, &str)| {
            if self.is_system(user.nsp) {
                return;
            }
            found
                .entry((rank, user.kind, user.oid, used.1))
                .or_insert_with(|| Use {
                    user_kind: user.kind,
                    user_oid: user.oid,
                    user_label: user.label.to_owned(),
                    user_in_public: self.in_public(user.nsp),
                    used_kind: used.0,
                    used: used.1,
                    used_label: used.2.to_owned(),
                    how: how.to_owned(),
                });
        };
        let relation = |oid: u32| index.relations.get(&oid).filter(|r| self.in_public(r.nsp));
        for d in refs {
            match (d.classid, d.refclassid) {
                // A column of a relation or an attribute of a composite type (its user is the type).
                (PG_CLASS, PG_TYPE) if d.objsubid > 0 => {
                    let Some(used) = index.stands_for(d.refobjid) else {
                        continue;
                    };
                    let Some(c) = details.columns.iter().find(|c| {
                        c.relation == d.objid && c.number == d.objsubid && c.type_ == d.refobjid
                    }) else {
                        continue;
                    };
                    if !matches!(c.kind.as_str(), "r" | "p" | "v" | "m" | "f" | "c") {
                        continue;
                    }
                    let (kind, oid) = if c.kind == "c" {
                        (Kind::Type, c.row_type)
                    } else {
                        (Kind::Relation, c.relation)
                    };
                    let user = User {
                        kind,
                        oid,
                        label: &c.label,
                        nsp: c.nsp,
                    };
                    add(0, "column", user, (Kind::Type, used.oid, &used.label));
                }
                // A column default that calls nextval() on a sequence.
                (PG_ATTRDEF, PG_CLASS) => {
                    let Some(sequence) = relation(d.refobjid).filter(|s| s.kind == "S") else {
                        continue;
                    };
                    let user = match own_relation(refs, d.classid, d.objid, &['a']) {
                        Some(table) => index.relations.get(&table).map(|t| User {
                            kind: Kind::Relation,
                            oid: t.oid,
                            label: &t.label,
                            nsp: t.nsp,
                        }),
                        None => details
                            .defaults
                            .iter()
                            .find(|a| a.oid == d.objid)
                            .map(|a| User {
                                kind: Kind::Relation,
                                oid: a.relation,
                                label: &a.label,
                                nsp: a.nsp,
                            }),
                    };
                    let Some(user) = user else { continue };
                    add(
                        1,
                        "default",
                        user,
                        (Kind::Relation, sequence.oid, &sequence.label),
                    );
                }
                // A trigger (not an internal one) and the routine it executes.
                (PG_TRIGGER, PG_PROC) => {
                    let Some(function) = index.functions.get(&d.refobjid) else {
                        continue;
                    };
                    let Some(t) = details
                        .triggers
                        .iter()
                        .find(|t| t.oid == d.objid && t.function == d.refobjid && !t.internal)
                    else {
                        continue;
                    };
                    let user = User {
                        kind: Kind::Relation,
                        oid: t.relation,
                        label: &t.label,
                        nsp: t.nsp,
                    };
                    add(
                        2,
                        "trigger",
                        user,
                        (Kind::Function, function.oid, &function.label),
                    );
                }
                // A view elsewhere that reads a relation of public (those of public are below).
                (PG_REWRITE, PG_CLASS) => {
                    let Some(read) = relation(d.refobjid) else {
                        continue;
                    };
                    let Some(r) = details.rules.iter().find(|r| r.oid == d.objid) else {
                        continue;
                    };
                    if r.relation == d.refobjid || !matches!(r.kind.as_str(), "v" | "m") {
                        continue;
                    }
                    let user = User {
                        kind: Kind::Relation,
                        oid: r.relation,
                        label: &r.label,
                        nsp: r.nsp,
                    };
                    add(3, "view", user, (Kind::Relation, read.oid, &read.label));
                }
                // A routine's argument or result type.
                (PG_PROC, PG_TYPE) if d.deptype == 'n' => {
                    let Some(used) = index.stands_for(d.refobjid) else {
                        continue;
                    };
                    let user = match index.functions.get(&d.objid) {
                        Some(f) => User {
                            kind: Kind::Function,
                            oid: f.oid,
                            label: &f.label,
                            nsp: f.nsp,
                        },
                        None => match details.routines.iter().find(|r| r.oid == d.objid) {
                            Some(r) => User {
                                kind: Kind::Function,
                                oid: r.oid,
                                label: &r.label,
                                nsp: r.nsp,
                            },
                            None => continue,
                        },
                    };
                    add(4, "signature", user, (Kind::Type, used.oid, &used.label));
                }
                // A domain over a type of public, a range over one.
                (PG_TYPE, PG_TYPE) => {
                    let Some(used) = index.stands_for(d.refobjid) else {
                        continue;
                    };
                    let known = index.types.get(&d.objid).filter(|t| t.kind == "d");
                    let (user, base) =
                        match known {
                            Some(t) => (
                                User {
                                    kind: Kind::Type,
                                    oid: t.oid,
                                    label: &t.label,
                                    nsp: t.nsp,
                                },
                                t.base,
                            ),
                            None => {
                                let Some(t) = details.types.iter().find(|t| {
                                    t.oid == d.objid && matches!(t.kind.as_str(), "d" | "r")
                                }) else {
                                    continue;
                                };
                                let Some(base) = t.base else { continue };
                                (
                                    User {
                                        kind: Kind::Type,
                                        oid: t.oid,
                                        label: &t.label,
                                        nsp: t.nsp,
                                    },
                                    base,
                                )
                            }
                        };
                    if base == d.refobjid {
                        add(5, "type", user, (Kind::Type, used.oid, &used.label));
                    }
                }
                _ => {}
            }
        }
        // The views and materialized views of public, and whatever they read.
        for read in &links.view_reads {
            let Some(view) = relation(read.view) else {
                continue;
            };
            if self.is_system(read.nsp) {
                continue;
            }
            let user = User {
                kind: Kind::Relation,
                oid: view.oid,
                label: &view.label,
                nsp: view.nsp,
            };
            add(
                3,
                "view",
                user,
                (Kind::Relation, read.relation, &read.label),
            );
        }
        found.into_values().collect()
    }

    /// Foreign keys with at least one end in public: those of the tables of public, and those
    /// that reference them from elsewhere.
    fn foreign_keys(
        &self,
        index: &Lookup<'_>,
        links: &Links,
        details: &Details,
    ) -> Vec<ForeignKey> {
        let mut keys: BTreeMap<u32, ForeignKey> = BTreeMap::new();
        for k in &links.foreign_keys {
            let Some(from) = index.relations.get(&k.relation) else {
                continue;
            };
            if self.is_system(k.referenced_nsp) {
                continue;
            }
            keys.insert(
                k.oid,
                ForeignKey {
                    name: k.name.clone(),
                    from: from.oid,
                    from_label: from.label.clone(),
                    from_in_public: self.in_public(from.nsp),
                    to: k.referenced,
                    to_label: k.referenced_label.clone(),
                    to_in_public: self.in_public(k.referenced_nsp),
                },
            );
        }
        for c in &details.constraints {
            if self.is_system(c.nsp) || self.is_system(c.referenced_nsp) {
                continue;
            }
            let (from_in_public, to_in_public) =
                (self.in_public(c.nsp), self.in_public(c.referenced_nsp));
            if !from_in_public && !to_in_public {
                continue;
            }
            keys.entry(c.oid).or_insert_with(|| ForeignKey {
                name: c.name.clone(),
                from: c.relation,
                from_label: c.label.clone(),
                from_in_public,
                to: c.referenced,
                to_label: c.referenced_label.clone(),
                to_in_public,
            });
        }
        let mut keys: Vec<ForeignKey> = keys.into_values().collect();
        keys.sort_by(|a, b| a.from_label.cmp(&b.from_label).then(a.name.cmp(&b.name)));
        keys
    }
}

/// The relation an object belongs to, by its dependency of type `deptypes` on a relation of
/// public (a column default's on its column, a rule's on its relation): none when that relation
/// is not in public.
fn own_relation(refs: &[&Dependency], class: u32, oid: u32, deptypes: &[char]) -> Option<u32> {
    refs.iter()
        .find(|d| {
            d.classid == class
                && d.objid == oid
                && d.refclassid == PG_CLASS
                && deptypes.contains(&d.deptype)
        })
        .map(|d| d.refobjid)
}

/// The objects of the first read by OID.
struct Lookup<'a> {
    relations: BTreeMap<u32, &'a RawRelation>,
    types: BTreeMap<u32, &'a RawType>,
    functions: BTreeMap<u32, &'a RawFunction>,
}

impl<'a> Lookup<'a> {
    fn new(objects: &'a Objects) -> Self {
        Self {
            relations: objects.relations.iter().map(|r| (r.oid, r)).collect(),
            types: objects.types.iter().map(|t| (t.oid, t)).collect(),
            functions: objects.functions.iter().map(|f| (f.oid, f)).collect(),
        }
    }

    /// For an array type, its element type (always in the array's schema).
    fn element(&self, t: &RawType) -> Option<&'a RawType> {
        self.types
            .get(&t.element)
            .copied()
            .filter(|e| t.element != 0 && e.array_type == t.oid)
    }

    /// The type of public that a use of type `oid` names: an array type stands for its element.
    fn stands_for(&self, oid: u32) -> Option<&'a RawType> {
        let t = *self.types.get(&oid)?;
        let used = self.element(t).unwrap_or(t);
        (used.nsp == t.nsp).then_some(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_split_by_name_without_comments() {
        for parts in [links_sql(), details_sql()] {
            assert!(parts.len() >= 7, "{parts:?}");
            for (name, sql) in parts {
                assert!(sql.contains("$1"), "{name}: {sql}");
                assert!(!sql.contains("--"), "{name}: {sql}");
            }
        }
        let names = |parts: &Parts| parts.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        let objects = Objects {
            server_major: 17,
            admin: "postgres".into(),
            database: "postgres".into(),
            public: Some(2200),
            target: None,
            system: Vec::new(),
            target_owner: None,
            app_exists: true,
            admin_can_set_steward: true,
            relations: Vec::new(),
            types: Vec::new(),
            functions: Vec::new(),
        };
        // Every list asked for has its part, and every part is asked for.
        let asked = |requests: Vec<(&'static str, Vec<u32>)>| {
            requests.into_iter().map(|(n, _)| n).collect::<Vec<_>>()
        };
        assert_eq!(names(links_sql()), asked(objects.link_requests()));
        assert_eq!(
            names(details_sql()),
            asked(objects.detail_requests(&Links::default()))
        );
    }
}
