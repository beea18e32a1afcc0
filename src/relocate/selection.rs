//! Which objects of `public` a relocation starts from; the dependency closure adds what they
//! need.

use super::RelocateError;
use super::catalog::{Catalog, ObjectId};
use crate::ProjectName;

/// Which objects of `public` to relocate. The [dependency closure](super::RelocationPlan::moves)
/// adds what they need (sequences, partitions, types, trigger functions, views over them).
///
/// ```
/// use cotenant::relocate::Selection;
///
/// let explicit = Selection::tables(["contacts", "deals"]);
/// // `reli_items` becomes `reli.items`:
/// let prefixed = Selection::Prefix { prefix: "reli_".into(), strip: true };
/// assert_eq!(prefixed.renamed("reli_items"), "items");
/// assert_eq!(explicit.renamed("contacts"), "contacts");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// These relations of `public` (tables, views, materialized views, sequences), by name.
    Tables(Vec<String>),
    /// Every relation, type and routine of `public` whose name starts with `prefix`. With
    /// `strip`, every moved object named with the prefix loses it (`reli_items` →
    /// `reli.items`); index and constraint names are kept.
    Prefix {
        /// The prefix, e.g. `reli_`.
        prefix: String,
        /// Remove the prefix from the moved objects' names.
        strip: bool,
    },
    /// Every relation, type and routine of `public` whose name matches a glob: `*` matches any
    /// run of characters, `?` one character.
    Pattern(String),
    /// These relations, types and routines of `public`, by name (a routine's name covers all its
    /// overloads): what [`import`](crate::import) created there and moves on. Partitions and
    /// owned sequences move with their table whether named or not.
    Objects(Vec<String>),
    /// Everything in `public` the admin can act on. What it cannot (objects of roles it cannot
    /// act as, members of extensions) is listed as skipped.
    All,
}

impl Selection {
    /// These relations of `public`, by name.
    pub fn tables<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Selection::Tables(names.into_iter().map(Into::into).collect())
    }

    /// The name an object named `name` gets in the project's schema.
    pub fn renamed<'a>(&self, name: &'a str) -> &'a str {
        match self {
            Selection::Prefix {
                prefix,
                strip: true,
            } => match name.strip_prefix(prefix.as_str()) {
                Some(rest) if !rest.is_empty() => rest,
                _ => name,
            },
            _ => name,
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Selection::Tables(names) => names.iter().any(|n| n == name),
            Selection::Prefix { prefix, .. } => name.starts_with(prefix.as_str()),
            Selection::Pattern(glob) => glob_matches(glob, name),
            Selection::Objects(names) => names.iter().any(|n| n == name),
            Selection::All => true,
        }
    }
}

/// Where the selection starts.
#[derive(Debug, Default)]
pub(crate) struct Seeds {
    pub(crate) objects: Vec<ObjectId>,
    /// Named relations that are already in the project's schema: moved by an earlier run.
    pub(crate) already: Vec<String>,
    /// What `All`, a prefix or a pattern matched but leaves alone, with why.
    pub(crate) skipped: Vec<String>,
}

impl Selection {
    /// The objects of `catalog` the selection names. Partitions and owned sequences are not
    /// candidates of their own: they move with their table.
    pub(crate) fn seeds(
        &self,
        catalog: &Catalog,
        project: &ProjectName,
    ) -> Result<Seeds, RelocateError> {
        let mut seeds = Seeds::default();
        if let Selection::Tables(names) = self {
            for name in names {
                if let Some(r) = catalog.relations.iter().find(|r| r.name == *name) {
                    seeds.objects.push(ObjectId::relation(r.oid));
                } else if catalog.taken.relations.contains(name) {
                    seeds.already.push(format!("{project}.{name}"));
                } else {
                    return Err(RelocateError::UnknownTable {
                        project: project.clone(),
                        name: name.clone(),
                    });
                }
            }
            return Ok(seeds);
        }
        let everything = *self == Selection::All;
        let mut consider = |id: ObjectId, name: &str, extension: bool, admin_acts: bool| {
            if !self.matches(name) {
                return;
            }
            if extension {
                seeds
                    .skipped
                    .push(format!("{name}: belongs to an extension"));
            } else if everything && !admin_acts {
                seeds
                    .skipped
                    .push(format!("{name}: owned by a role the admin cannot act as"));
            } else {
                seeds.objects.push(id);
            }
        };
        for r in &catalog.relations {
            let candidate = match r.kind.as_str() {
                "r" | "p" | "f" => r.partition_of.is_none(),
                "v" | "m" => true,
                "S" => r.owned_by.is_none(),
                _ => false,
            };
            if candidate {
                consider(
                    ObjectId::relation(r.oid),
                    &r.name,
                    r.extension,
                    r.ownership.admin_acts,
                );
            }
        }
        for t in &catalog.types {
            consider(
                ObjectId::type_(t.oid),
                &t.name,
                t.extension,
                t.ownership.admin_acts,
            );
        }
        for f in &catalog.functions {
            consider(
                ObjectId::function(f.oid),
                &f.name,
                f.extension,
                f.ownership.admin_acts,
            );
        }
        Ok(seeds)
    }
}

/// `*` matches any run of characters, `?` exactly one; everything else itself.
fn glob_matches(glob: &str, name: &str) -> bool {
    let (glob, name): (Vec<char>, Vec<char>) = (glob.chars().collect(), name.chars().collect());
    // Classic two-pointer matching with backtracking to the last `*`.
    let (mut g, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if g < glob.len() && (glob[g] == '?' || glob[g] == name[n]) {
            g += 1;
            n += 1;
        } else if g < glob.len() && glob[g] == '*' {
            star = Some((g, n));
            g += 1;
        } else if let Some((sg, sn)) = star {
            g = sg + 1;
            n = sn + 1;
            star = Some((sg, sn + 1));
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob_matches("crm_*", "crm_contacts"));
        assert!(glob_matches("*_log", "audit_log"));
        assert!(glob_matches("a?c", "abc"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("crm_*", "contacts"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(glob_matches("*a*b*", "xaybz"));
    }

    #[test]
    fn stripping_keeps_names_that_are_only_the_prefix() {
        let s = Selection::Prefix {
            prefix: "reli_".into(),
            strip: true,
        };
        assert_eq!(s.renamed("reli_items"), "items");
        assert_eq!(s.renamed("reli_"), "reli_");
        assert_eq!(s.renamed("other"), "other");
        let kept = Selection::Prefix {
            prefix: "reli_".into(),
            strip: false,
        };
        assert_eq!(kept.renamed("reli_items"), "reli_items");
    }
}
