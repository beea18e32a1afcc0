//! Supabase's database-linter checks (splinter) that apply to project schemas, written for
//! cotenant's model: reported as warnings (or infos), never as isolation errors — except a view
//! exposing `auth.users`, which shows every project's users.

use super::catalog::Catalog;
use super::{Code, Finding};
use crate::ident::quote_ident;

pub(super) fn check(catalog: &Catalog, out: &mut Vec<Finding>) {
    for t in &catalog.tables {
        let project = t.project.as_str();
        let enable = format!("`ALTER TABLE {} ENABLE ROW LEVEL SECURITY`", t.object);
        if !t.rls && t.policies > 0 {
            out.push(Finding::new(
                Code::PolicyWithoutRls,
                Some(project),
                &t.object,
                format!(
                    "table {} has {} polic{} but row-level security is disabled: they restrict nothing",
                    t.object,
                    t.policies,
                    if t.policies == 1 { "y" } else { "ies" }
                ),
                enable,
            ));
        } else if !t.rls && t.reachable {
            out.push(Finding::new(
                Code::RlsDisabled,
                Some(project),
                &t.object,
                format!(
                    "table {} has row-level security disabled: every role granted it reads and writes every row",
                    t.object
                ),
                format!("{enable} and add policies, or allow-list it with the reason"),
            ));
        } else if t.rls && t.policies == 0 {
            out.push(Finding::new(
                Code::RlsWithoutPolicy,
                Some(project),
                &t.object,
                format!(
                    "table {} has row-level security enabled and no policy: only its owner sees rows",
                    t.object
                ),
                format!("`CREATE POLICY … ON {} …`, or allow-list it if that is the intent", t.object),
            ));
        }
    }
    for v in &catalog.views {
        let project = v.project.as_str();
        let readers: Vec<&str> = v.readers.iter().map(String::as_str).collect();
        if v.reads_auth_users && !readers.is_empty() {
            out.push(Finding::new(
                Code::AuthUsersExposed,
                Some(project),
                &v.object,
                format!(
                    "view {} reads auth.users, which holds every project's users, and {} may read it",
                    v.object,
                    readers.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
                ),
                format!(
                    "`DROP VIEW {}`: reference auth.users by id only (platform access `auth` grants REFERENCES (id)), and keep what the project needs of its users in its own table",
                    v.object
                ),
            ));
        }
        if v.definer {
            out.push(Finding::new(
                Code::SecurityDefinerView,
                Some(project),
                &v.object,
                format!(
                    "view {} reads with its owner's rights: its readers bypass the row-level security of the tables it reads",
                    v.object
                ),
                format!("`ALTER VIEW {} SET (security_invoker = true)`", v.object),
            ));
        }
    }
    for k in &catalog.foreign_keys {
        let project = k.project.as_str();
        let columns: Vec<String> = k.columns.iter().map(|c| quote_ident(c)).collect();
        out.push(Finding::new(
            Code::UnindexedForeignKey,
            Some(project),
            format!("{} constraint {}", k.table, k.constraint),
            format!(
                "foreign key `{}` of {} ({}) leads no index: deleting or re-keying a referenced row scans the table",
                k.constraint,
                k.table,
                k.columns.join(", ")
            ),
            format!("`CREATE INDEX ON {} ({})` in a migration", k.table, columns.join(", ")),
        ));
    }
    for e in &catalog.extensions {
        let project = e.project.as_str();
        out.push(Finding::new(
            Code::ExtensionInProjectSchema,
            Some(project),
            &e.extension,
            format!(
                "extension `{}` is installed in project `{project}`'s schema instead of `extensions`",
                e.extension
            ),
            format!(
                "`ALTER EXTENSION {} SET SCHEMA extensions` (if it is relocatable), or drop it and declare it under [platform.allow] extensions",
                quote_ident(&e.extension)
            ),
        ));
    }
}
