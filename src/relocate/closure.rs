//! The dependency closure: from the selected objects to everything that must move with them.
//! The [analysis](super::analysis) of each closure finds the [`Blocker`]s; the user's choices
//! there add objects or hold them back, and the closure is computed again until they change
//! nothing.
//!
//! Pure: computed from one catalog read, so it can be tested without a database.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::analysis::Analysis;
use super::blocker::Blocker;
use super::catalog::{Catalog, Index, Kind, ObjectId};
use super::relocation::Relocation;
use crate::ProjectName;

/// What moves, why, what stands in the way, and the extra statements the choices call for.
#[derive(Debug, Default)]
pub(crate) struct Closure {
    /// Every object to move explicitly, with why it moves. A table's owned sequences, indexes
    /// and row type move with it and are not listed.
    pub(crate) moved: BTreeMap<ObjectId, String>,
    pub(crate) blockers: Vec<Blocker>,
    /// Policies to make apply to `<p>_app`: (table, policy).
    pub(crate) policies_to_app: Vec<(u32, String)>,
    /// Tables to drop from publications: (publication, table).
    pub(crate) publication_drops: Vec<(String, u32)>,
    /// Routines whose `search_path` setting changes: (routine, new setting as SQL).
    pub(crate) repoints: Vec<(u32, String)>,
    /// Trigger functions of `auth.users` that become the project's signup hook: (routine,
    /// trigger).
    pub(crate) hooks: Vec<(u32, String)>,
}

/// Computes the closure of `seeds`. "Move along" choices add objects and "leave" choices hold
/// objects back, so the closure is recomputed until they change nothing.
pub(crate) fn close(
    catalog: &Catalog,
    project: &ProjectName,
    relocation: &Relocation,
    seeds: &[ObjectId],
) -> Closure {
    let index = catalog.index();
    let mut seeds: BTreeSet<ObjectId> = seeds.iter().copied().collect();
    let mut left: BTreeSet<ObjectId> = BTreeSet::new();
    loop {
        let moved = expand(catalog, &index, &seeds, &left);
        let (closure, additions, leaves) = {
            let mut analysis = Analysis {
                catalog,
                index: &index,
                project,
                selection: relocation.get_selection(),
                choices: relocation.choices(),
                platform: relocation.get_platform().map(|(access, _)| access),
                moved: &moved,
                closure: Closure::default(),
                additions: BTreeSet::new(),
                leaves: BTreeSet::new(),
            };
            analysis.run();
            (analysis.closure, analysis.additions, analysis.leaves)
        };
        if additions.is_subset(&seeds) && leaves.is_subset(&left) {
            return Closure { moved, ..closure };
        }
        seeds.extend(additions);
        left.extend(leaves);
    }
}

/// The seeds and what they need: partitions, column types, sequences of defaults, trigger
/// functions, types under types; then the views that read only moved relations.
fn expand(
    catalog: &Catalog,
    index: &Index<'_>,
    seeds: &BTreeSet<ObjectId>,
    left: &BTreeSet<ObjectId>,
) -> BTreeMap<ObjectId, String> {
    let mut moved = BTreeMap::new();
    let mut queue: VecDeque<(ObjectId, String)> = seeds
        .iter()
        .map(|id| (*id, "selected".to_owned()))
        .collect();
    while let Some((id, why)) = queue.pop_front() {
        if moved.contains_key(&id) || left.contains(&id) || !index.contains(id) {
            continue;
        }
        moved.insert(id, why);
        let label = index.describe(id);
        let used_by = |how: &'static str| {
            catalog
                .uses
                .iter()
                .filter(move |u| u.user() == id && u.how == how)
        };
        match id.kind {
            Kind::Relation if index.relations[&id.oid].is_table() => {
                for p in catalog
                    .relations
                    .iter()
                    .filter(|r| r.partition_of == Some(id.oid))
                {
                    queue.push_back((ObjectId::relation(p.oid), format!("partition of {label}")));
                }
                for u in used_by("column") {
                    queue.push_back((u.used(), format!("a column type of {label}")));
                }
                for u in used_by("default") {
                    // An owned sequence moves with its own table, never on its own.
                    if index
                        .relations
                        .get(&u.used)
                        .is_some_and(|s| s.owned_by.is_none())
                    {
                        queue.push_back((u.used(), format!("used by a default of {label}")));
                    }
                }
                for u in used_by("trigger") {
                    queue.push_back((u.used(), format!("trigger function of {label}")));
                }
            }
            Kind::Type => {
                for u in used_by("type").chain(used_by("column")) {
                    queue.push_back((u.used(), format!("used by {label}")));
                }
            }
            _ => {}
        }
    }
    loop {
        let mut grew = false;
        for v in catalog.relations.iter().filter(|r| r.is_view()) {
            let id = ObjectId::relation(v.oid);
            if moved.contains_key(&id) || left.contains(&id) {
                continue;
            }
            let mut reads = catalog
                .uses
                .iter()
                .filter(|u| u.user() == id && u.how == "view")
                .peekable();
            if reads.peek().is_some() && reads.all(|u| moved.contains_key(&u.used())) {
                moved.insert(id, "reads only moved relations".to_owned());
                grew = true;
            }
        }
        if !grew {
            return moved;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::relocate::{BlockerKind, ForeignKeyChoice, FunctionChoice, Relocation, Selection};

    /// A small public schema: `orders` (serial, an enum column, a trigger) with `order_lines`
    /// referencing it, a view over `orders`, and `report()`, whose body reads `orders`.
    pub(crate) fn catalog() -> Catalog {
        let owner = json!({"owner": "postgres", "owner_superuser": false, "admin_acts": true});
        let relation = |oid: u32, name: &str, kind: &str, owned_by: Option<u32>| {
            let mut r = json!({
                "oid": oid, "name": name, "kind": kind, "partition_of": null, "inheritance": false,
                "extension": false, "owned_by": owned_by, "grantees": ["anon", "PUBLIC"],
                "indexes": [], "policies": [], "publications": []
            });
            r.as_object_mut()
                .unwrap()
                .extend(owner.as_object().unwrap().clone());
            r
        };
        let with_owner = |mut v: serde_json::Value| {
            v.as_object_mut()
                .unwrap()
                .extend(owner.as_object().unwrap().clone());
            v
        };
        let uses = |user: u32, user_label: &str, kind: &str, used: u32, label: &str, how: &str| {
            json!({"user_kind": "relation", "user_oid": user, "user_label": user_label,
                   "user_in_public": true, "used_kind": kind, "used": used,
                   "used_label": label, "how": how})
        };
        serde_json::from_value(json!({
            "server_major": 17, "admin": "postgres", "database": "postgres",
            "target_owner": "shop_owner", "app_exists": true, "admin_can_set_steward": true,
            "relations": [
                relation(10, "orders", "r", None),
                relation(11, "orders_id_seq", "S", Some(10)),
                relation(12, "order_lines", "r", None),
                relation(13, "open_orders", "v", None),
            ],
            "types": [with_owner(json!({"oid": 20, "name": "order_state", "kind": "e",
                "extension": false, "array_name": "_order_state", "grantees": ["PUBLIC"]}))],
            "functions": [
                with_owner(json!({"oid": 30, "name": "stamp", "kind": "f", "arg_types": [],
                    "extension": false, "security_definer": false, "search_path": null,
                    "body": "BEGIN NEW.at := now(); RETURN NEW; END", "grantees": ["PUBLIC"]})),
                with_owner(json!({"oid": 31, "name": "report", "kind": "f", "arg_types": [20, 21],
                    "extension": false, "security_definer": false, "search_path": null,
                    "body": "SELECT count(*) FROM orders WHERE state = $1", "grantees": ["PUBLIC"]})),
            ],
            "outside_bodies": [],
            "labels": [
                {"oid": 20, "element": null, "label": "public.order_state"},
                {"oid": 21, "element": 20, "label": "public.order_state[]"},
            ],
            "uses": [
                uses(10, "public.orders", "type", 20, "public.order_state", "column"),
                uses(10, "public.orders", "function", 30, "public.stamp()", "trigger"),
                uses(13, "public.open_orders", "relation", 10, "public.orders", "view"),
                {"user_kind": "function", "user_oid": 31, "user_label": "public.report(public.order_state, public.order_state[])",
                 "user_in_public": true, "used_kind": "type", "used": 20,
                 "used_label": "public.order_state", "how": "signature"},
            ],
            "foreign_keys": [{"name": "order_lines_order_fkey", "from": 12,
                "from_label": "public.order_lines", "from_in_public": true, "to": 10,
                "to_label": "public.orders", "to_in_public": true}],
            "schema_publications": [],
            "taken": {"relations": [], "types": [], "functions": []}
        }))
        .expect("a valid catalog")
    }

    fn closed(relocation: &Relocation) -> Closure {
        let catalog = catalog();
        let project = "shop".parse().unwrap();
        let seeds = relocation
            .get_selection()
            .seeds(&catalog, &project)
            .unwrap();
        close(&catalog, &project, relocation, &seeds.objects)
    }

    #[test]
    fn a_table_takes_its_type_trigger_function_and_views_along() {
        let closure = closed(&Relocation::new(Selection::tables(["orders"])));
        let moved: Vec<(ObjectId, &str)> = closure
            .moved
            .iter()
            .map(|(id, why)| (*id, why.as_str()))
            .collect();
        assert_eq!(
            moved,
            [
                (ObjectId::relation(10), "selected"),
                (ObjectId::relation(13), "reads only moved relations"),
                (ObjectId::type_(20), "a column type of table public.orders"),
                (
                    ObjectId::function(30),
                    "trigger function of table public.orders"
                ),
            ]
        );
        let blockers: Vec<(BlockerKind, &str, bool)> = closure
            .blockers
            .iter()
            .map(|b| (b.kind(), b.object(), b.is_resolved()))
            .collect();
        assert_eq!(
            blockers,
            [
                (
                    BlockerKind::SharedDependency,
                    "enum type public.order_state",
                    false
                ),
                (
                    BlockerKind::ForeignKey,
                    "foreign key `order_lines_order_fkey` of public.order_lines",
                    false
                ),
                (
                    BlockerKind::FunctionBody,
                    "function public.report(public.order_state, public.order_state[])",
                    false
                ),
            ]
        );
    }

    #[test]
    fn moving_along_closes_again_until_nothing_stands_in_the_way() {
        let closure = closed(
            &Relocation::new(Selection::tables(["orders"]))
                .foreign_keys(ForeignKeyChoice::MoveAlong)
                .functions(FunctionChoice::MoveAlong),
        );
        assert!(closure.moved.contains_key(&ObjectId::relation(12)));
        assert!(closure.moved.contains_key(&ObjectId::function(31)));
        // report() moved along, and with it the type's last user outside the move.
        assert!(
            closure.blockers.iter().all(|b| b.is_resolved()),
            "{:?}",
            closure.blockers
        );
    }
}
