//! The statements of a relocation, in order: acting as the owner, locking, moving (with the
//! names each object has at that point), renaming, handing over, granting and revoking.

use std::collections::BTreeMap;

use super::FunctionChoice;
use super::body::qualify;
use super::catalog::{Catalog, Index, Kind, ObjectId};
use super::closure::Closure;
use super::object::ObjectKind;
use super::plan::{Checks, Counted, Move, RelocationPlan, Rewrite};
use super::relocation::Relocation;
use super::selection::Seeds;
use crate::ProjectName;
use crate::ident::quote_ident;
use crate::platform::PLATFORM_SCHEMA;
use crate::provision::{Actor, Step, steward_of};

/// Builds the plan for `closure`.
pub(crate) fn build(
    catalog: &Catalog,
    project: &ProjectName,
    relocation: &Relocation,
    seeds: Seeds,
    closure: Closure,
) -> RelocationPlan {
    let index = catalog.index();
    let mut builder = Builder {
        catalog,
        index: &index,
        project,
        relocation,
        schema: quote_ident(project.as_str()),
        locations: BTreeMap::new(),
        closure: &closure,
    };
    let order = builder.order();
    let moves = builder.moves(&order);
    let rewrites = builder.rewrites();
    let mut checks = builder.checks(&order);
    checks.rewritten = rewrites
        .iter()
        .map(|r| (r.oid, r.function.clone()))
        .collect();
    checks.moved_names = builder.public_names().into_keys().collect();
    let (prepare, relocate, finish) = if order.is_empty() {
        Default::default()
    } else {
        (
            builder.prepare(&order),
            builder.relocate(&order, &rewrites),
            builder.finish(&order),
        )
    };
    RelocationPlan {
        project: project.clone(),
        database: catalog.database.clone(),
        server_major: catalog.server_major,
        steward: steward_of(project),
        lock_timeout: relocation.get_lock_timeout(),
        moves,
        blockers: closure.blockers,
        rewrites,
        makes_hook: !closure.hooks.is_empty(),
        already: seeds.already,
        skipped: seeds.skipped,
        prepare,
        relocate,
        finish,
        checks,
    }
}

struct Builder<'a> {
    catalog: &'a Catalog,
    index: &'a Index<'a>,
    project: &'a ProjectName,
    relocation: &'a Relocation,
    /// The project's schema, quoted.
    schema: String,
    /// Where each object is as the statements so far leave it: (moved yet, name).
    locations: BTreeMap<ObjectId, (bool, String)>,
    closure: &'a Closure,
}

impl Builder<'_> {
    /// The moved objects in the order they move: routines first (their signatures name types
    /// still in public), then types, sequences, tables before their partitions, and views.
    /// Each table is followed by the sequences it owns, which move with it.
    fn order(&mut self) -> Vec<ObjectId> {
        let rank = |id: &ObjectId| -> u8 {
            match self.index.kind(*id) {
                ObjectKind::Function | ObjectKind::Procedure | ObjectKind::Aggregate => 0,
                ObjectKind::Enum
                | ObjectKind::Domain
                | ObjectKind::CompositeType
                | ObjectKind::RangeType => 1,
                ObjectKind::Sequence => 2,
                ObjectKind::Table | ObjectKind::PartitionedTable | ObjectKind::ForeignTable => 3,
                ObjectKind::Partition => 4,
                ObjectKind::View | ObjectKind::MaterializedView => 5,
            }
        };
        // Functions that become the signup hook are recreated, not moved.
        let mut order: Vec<ObjectId> = self
            .closure
            .moved
            .keys()
            .copied()
            .filter(|id| !self.becomes_hook(*id))
            .collect();
        order.sort_by_key(|id| (rank(id), self.index.name(*id).to_owned(), id.oid));
        for id in &order {
            self.locations
                .insert(*id, (false, self.index.name(*id).to_owned()));
        }
        for seq in self.owned_sequences(&order) {
            self.locations
                .insert(seq, (false, self.index.name(seq).to_owned()));
        }
        order
    }

    /// The sequences owned by moved tables.
    fn owned_sequences(&self, order: &[ObjectId]) -> Vec<ObjectId> {
        self.catalog
            .relations
            .iter()
            .filter(|r| {
                r.owned_by
                    .is_some_and(|t| order.contains(&ObjectId::relation(t)))
            })
            .map(|r| ObjectId::relation(r.oid))
            .collect()
    }

    fn final_name(&self, id: ObjectId) -> &str {
        self.relocation.get_selection().renamed(self.index.name(id))
    }

    /// An object's name as SQL where the statements so far leave it.
    fn sql_name(&self, id: ObjectId) -> String {
        let (moved, name) = &self.locations[&id];
        let schema = if *moved {
            self.schema.as_str()
        } else {
            "public"
        };
        let qualified = format!("{schema}.{}", quote_ident(name));
        match id.kind {
            Kind::Function => format!("{qualified}({})", self.arguments(id.oid)),
            _ => qualified,
        }
    }

    /// A routine's argument types spelled where they are now: moved types are followed.
    fn arguments(&self, oid: u32) -> String {
        self.index.functions[&oid]
            .arg_types
            .iter()
            .map(|t| {
                let label = self.index.labels.get(t);
                let element = label.and_then(|l| l.element).unwrap_or(*t);
                match self.locations.get(&ObjectId::type_(element)) {
                    Some(_) if element != *t => {
                        format!("{}[]", self.sql_name(ObjectId::type_(element)))
                    }
                    Some(_) => self.sql_name(ObjectId::type_(*t)),
                    None => label.map_or_else(|| t.to_string(), |l| l.label.clone()),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn becomes_hook(&self, id: ObjectId) -> bool {
        id.kind == Kind::Function && self.closure.hooks.iter().any(|(f, _)| *f == id.oid)
    }

    /// The signature of the hook `function` becomes, as SQL.
    fn hook_name(&self, function: u32) -> String {
        let id = ObjectId::function(function);
        format!(
            "{}.{}(new {})",
            self.schema,
            quote_ident(self.final_name(id)),
            signup_type()
        )
    }

    fn moves(&self, order: &[ObjectId]) -> Vec<Move> {
        let project = self.project.as_str();
        let mut moves = Vec::new();
        for (function, trigger) in &self.closure.hooks {
            let id = ObjectId::function(*function);
            moves.push(Move {
                kind: ObjectKind::Function,
                from: self.index.label(id, "public", self.index.name(id)),
                to: format!(
                    "{project}.{}({PLATFORM_SCHEMA}.signup_user)",
                    self.final_name(id)
                ),
                why: format!(
                    "fired by trigger `{trigger}` on auth.users: recreated as `{project}`'s signup hook"
                ),
            });
        }
        for id in order {
            moves.push(Move {
                kind: self.index.kind(*id),
                from: self.index.label(*id, "public", self.index.name(*id)),
                to: self.index.label(*id, project, self.final_name(*id)),
                why: self.closure.moved[id].clone(),
            });
            for seq in self.owned_sequences(&[*id]) {
                moves.push(Move {
                    kind: ObjectKind::Sequence,
                    from: self.index.label(seq, "public", self.index.name(seq)),
                    to: self.index.label(seq, project, self.final_name(seq)),
                    why: format!("owned by {}: moves with it", self.index.describe(*id)),
                });
            }
        }
        moves
    }

    fn checks(&self, order: &[ObjectId]) -> Checks {
        let mut checks = Checks::default();
        let owned = self.owned_sequences(order);
        for id in order.iter().chain(&owned) {
            let name = self.final_name(*id).to_owned();
            match id.kind {
                Kind::Relation => {
                    checks.relations.push(id.oid);
                    if self.index.kind(*id).has_rows() {
                        checks.counted.push(Counted {
                            before: format!("public.{}", quote_ident(self.index.name(*id))),
                            after: format!("{}.{}", self.schema, quote_ident(&name)),
                            label: format!("{}.{name}", self.project),
                        });
                    }
                }
                Kind::Type => checks.types.push(id.oid),
                Kind::Function => checks.functions.push(id.oid),
            }
            checks.expected.insert(*id, name);
        }
        checks
    }

    fn prepare(&self, order: &[ObjectId]) -> Vec<Step> {
        let roles = self.project.roles();
        let owner = quote_ident(&roles.owner);
        let steward = steward_of(self.project);
        let admin = &self.catalog.admin;
        let mut steps = vec![
            Step::new(
                Actor::Steward,
                format!(
                    "GRANT {owner} TO {}{}",
                    quote_ident(&steward),
                    if self.catalog.has_grant_options() {
                        " WITH INHERIT FALSE, SET TRUE"
                    } else {
                        ""
                    }
                ),
                format!("act as `{}` for this transaction", roles.owner),
            ),
            Step::new(
                Actor::Owner,
                format!(
                    "GRANT USAGE, CREATE ON SCHEMA {} TO {}",
                    self.schema,
                    quote_ident(admin)
                ),
                format!(
                    "the admin `{admin}` moves what it owns into `{}` (that needs CREATE there) and counts the rows there; revoked before commit",
                    self.project
                ),
            ),
        ];
        let locked: Vec<String> = order
            .iter()
            // LOCK takes tables and views only; the rest is locked by its ALTER.
            .filter(|id| {
                id.kind == Kind::Relation
                    && !matches!(
                        self.index.kind(**id),
                        ObjectKind::Sequence | ObjectKind::MaterializedView
                    )
            })
            .map(|id| self.sql_name(*id))
            .collect();
        if !locked.is_empty() {
            steps.push(Step::new(
                Actor::Admin,
                format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", locked.join(", ")),
                "lock every relation first: a busy one stops the move before anything changed, after at most the lock timeout",
            ));
        }
        steps
    }

    /// What every moved object is called in public, with its qualified name in the project:
    /// the names a rewritten body must no longer spell `public.<name>`.
    fn public_names(&self) -> BTreeMap<String, String> {
        self.locations
            .keys()
            .map(|id| {
                (
                    self.index.name(*id).to_owned(),
                    format!("{}.{}", self.schema, quote_ident(self.final_name(*id))),
                )
            })
            .collect()
    }

    /// With `--functions rewrite`: every moved routine whose definition names moved objects as
    /// `public.<name>`, restated with their names in the project.
    fn rewrites(&self) -> Vec<Rewrite> {
        if self.relocation.choices().functions != Some(FunctionChoice::Rewrite) {
            return Vec::new();
        }
        let names = self.public_names();
        self.catalog
            .functions
            .iter()
            .filter(|f| self.locations.contains_key(&ObjectId::function(f.oid)))
            .filter_map(|f| {
                let before = f.definition.as_ref()?;
                let (after, replaced) = qualify(before, &names);
                let id = ObjectId::function(f.oid);
                (replaced > 0).then(|| Rewrite {
                    oid: f.oid,
                    function: self
                        .index
                        .label(id, self.project.as_str(), self.final_name(id)),
                    before: before.clone(),
                    after,
                })
            })
            .collect()
    }

    fn relocate(&mut self, order: &[ObjectId], rewrites: &[Rewrite]) -> Vec<Step> {
        let mut steps = Vec::new();
        for (publication, table) in &self.closure.publication_drops {
            steps.push(Step::new(
                Actor::Admin,
                format!(
                    "ALTER PUBLICATION {} DROP TABLE {}",
                    quote_ident(publication),
                    self.sql_name(ObjectId::relation(*table))
                ),
                format!("stop publishing it in `{publication}`, as chosen"),
            ));
        }
        for id in order {
            let kind = self.index.kind(*id);
            steps.push(Step::new(
                Actor::Admin,
                format!(
                    "ALTER {} {} SET SCHEMA {}",
                    kind.keyword(),
                    self.sql_name(*id),
                    self.schema
                ),
                format!(
                    "move {} ({})",
                    self.index.describe(*id),
                    self.closure.moved[id]
                ),
            ));
            self.locations
                .get_mut(id)
                .expect("every moved object has a location")
                .0 = true;
            if id.kind == Kind::Relation {
                for seq in self.owned_sequences(&[*id]) {
                    self.locations
                        .get_mut(&seq)
                        .expect("owned sequences have a location")
                        .0 = true;
                }
            }
        }
        let renamed: Vec<ObjectId> = self
            .locations
            .keys()
            .copied()
            .filter(|id| self.final_name(*id) != self.index.name(*id))
            .collect();
        for id in renamed {
            let to = self.final_name(id).to_owned();
            steps.push(Step::new(
                Actor::Admin,
                format!(
                    "ALTER {} {} RENAME TO {}",
                    self.index.kind(id).keyword(),
                    self.sql_name(id),
                    quote_ident(&to)
                ),
                format!(
                    "strip the prefix: {} becomes `{}.{to}`",
                    self.index.describe(id),
                    self.project
                ),
            ));
            self.locations
                .get_mut(&id)
                .expect("renamed objects have a location")
                .1 = to;
        }
        // After every move and rename (a definition names its own types and relations where
        // they end up), before the repoints (CREATE OR REPLACE restates the old SET clauses).
        for rewrite in rewrites {
            steps.push(Step::new(
                Actor::Admin,
                rewrite.after.trim_end().to_owned(),
                format!(
                    "rewrite {}: its body names moved objects as `public.…`",
                    rewrite.function
                ),
            ));
        }
        for (function, trigger) in &self.closure.hooks {
            steps.extend(self.hook(*function, trigger));
        }
        for (function, setting) in &self.closure.repoints {
            let id = ObjectId::function(*function);
            steps.push(Step::new(
                Actor::Admin,
                format!(
                    "ALTER FUNCTION {} SET search_path = {setting}",
                    self.sql_name(id)
                ),
                format!(
                    "{} resolves names in `{}` now",
                    self.index.describe(id),
                    self.project
                ),
            ));
        }
        let app = self.project.roles().app;
        for (table, policy) in &self.closure.policies_to_app {
            steps.push(Step::new(
                Actor::Admin,
                format!(
                    "ALTER POLICY {} ON {} TO {}",
                    quote_ident(policy),
                    self.sql_name(ObjectId::relation(*table)),
                    quote_ident(&app)
                ),
                format!("policy `{policy}` applies to `{app}` now, as chosen"),
            ));
        }
        steps
    }

    /// Turns the trigger function `function` of auth.users' trigger `trigger` into the
    /// project's signup hook: the same body with its `public.<name>` references qualified, as
    /// SECURITY DEFINER `<p>_owner` with a pinned search_path, called by the dispatcher only.
    fn hook(&self, function: u32, trigger: &str) -> Vec<Step> {
        let f = &self.index.functions[&function];
        let old = ObjectId::function(function);
        let (body, _) = qualify(f.body.as_deref().unwrap_or_default(), &self.public_names());
        let pinned = match f.search_path.as_deref() {
            Some(path) => path
                .split(',')
                .map(str::trim)
                .map(|element| match element {
                    "public" | "\"public\"" => self.schema.clone(),
                    "\"\"" => "''".to_owned(),
                    other => other.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            None => self.schema.clone(),
        };
        let mut tag = "$cotenant_hook$".to_owned();
        while body.contains(&tag) {
            tag.insert(tag.len() - 1, '_');
        }
        let hook = self.hook_name(function);
        let app = quote_ident(&self.project.roles().app);
        vec![
            Step::new(
                Actor::Admin,
                format!("DROP TRIGGER {} ON auth.users", quote_ident(trigger)),
                format!(
                    "signups stop running {} for every project",
                    self.index.describe(old)
                ),
            ),
            Step::new(
                Actor::Owner,
                format!(
                    "CREATE FUNCTION {hook} RETURNS {} LANGUAGE plpgsql SECURITY DEFINER SET search_path = {pinned} AS {tag}{body}{tag}",
                    signup_type()
                ),
                format!(
                    "recreate {} as `{}`'s signup hook: it runs as `{}`, reaching only its own schema",
                    self.index.describe(old),
                    self.project,
                    self.project.roles().owner
                ),
            ),
            Step::new(
                Actor::Owner,
                format!("REVOKE EXECUTE ON FUNCTION {hook} FROM {app}"),
                "only the signup dispatcher calls the hook",
            ),
            Step::new(
                Actor::Admin,
                // A hook's trigger function takes no arguments, and it never moved.
                format!("DROP FUNCTION public.{}()", quote_ident(&f.name)),
                "the trigger function it replaces",
            ),
        ]
    }

    fn finish(&self, order: &[ObjectId]) -> Vec<Step> {
        let roles = self.project.roles();
        let owner = quote_ident(&roles.owner);
        let app = quote_ident(&roles.app);
        let mut steps = Vec::new();
        for id in order {
            steps.push(Step::new(
                Actor::Admin,
                format!(
                    "ALTER {} {} OWNER TO {owner}",
                    self.index.kind(*id).keyword(),
                    self.sql_name(*id)
                ),
                format!(
                    "`{}` owns everything in `{}`{}",
                    roles.owner,
                    self.project,
                    if self.index.kind(*id).has_row_type() {
                        " (indexes and owned sequences follow their table)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let owned = self.owned_sequences(order);
        for id in order.iter().chain(&owned) {
            let kind = self.index.kind(*id);
            let on = format!("{} {}", kind.grant_keyword(), self.sql_name(*id));
            let foreign: Vec<String> = self
                .grantees(*id)
                .iter()
                .filter(|g| **g != roles.owner && **g != roles.app)
                .map(|g| {
                    if g == "PUBLIC" {
                        g.clone()
                    } else {
                        quote_ident(g)
                    }
                })
                .collect();
            if !foreign.is_empty() {
                steps.push(Step::new(
                    Actor::Owner,
                    format!("REVOKE ALL ON {on} FROM {} CASCADE", foreign.join(", ")),
                    format!(
                        "nobody outside project `{}` keeps what it held in public ({})",
                        self.project,
                        foreign.join(", ")
                    ),
                ));
            }
            steps.push(Step::new(
                Actor::Owner,
                format!("GRANT {} ON {on} TO {app}", kind.app_privileges()),
                format!(
                    "`{}` gets what it gets on new objects of `{}`",
                    roles.app, self.project
                ),
            ));
        }
        steps.push(Step::new(
            Actor::Owner,
            format!(
                "REVOKE USAGE, CREATE ON SCHEMA {} FROM {}",
                self.schema,
                quote_ident(&self.catalog.admin)
            ),
            format!("the admin leaves `{}` again", self.project),
        ));
        steps.push(Step::new(
            Actor::Steward,
            format!(
                "REVOKE {owner} FROM {}",
                quote_ident(&steward_of(self.project))
            ),
            format!("end acting as `{}`", roles.owner),
        ));
        steps
    }

    fn grantees(&self, id: ObjectId) -> &[String] {
        match id.kind {
            Kind::Relation => &self.index.relations[&id.oid].grantees,
            Kind::Type => &self.index.types[&id.oid].grantees,
            Kind::Function => &self.index.functions[&id.oid].grantees,
        }
    }
}

/// The composite type a signup hook takes and returns, as SQL.
fn signup_type() -> String {
    format!("{}.signup_user", quote_ident(PLATFORM_SCHEMA))
}
