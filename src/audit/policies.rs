//! Row-level security policies of the projects: none may name another project's role (an
//! isolation invariant), and none should call `auth.uid()` and friends once per row (a lint,
//! Supabase's `auth_rls_initplan`). On `storage.objects`, shared by every project's bucket, a
//! policy naming a project's roles must keep them to that project's bucket.

use std::collections::BTreeSet;

use super::catalog::{Catalog, StoragePolicyRow};
use super::roles::Roles;
use super::{Code, Finding, Scope};
use crate::ident::{quote_ident, quote_literal};

/// Calls whose value is the same for every row of a statement: wrapped in `(select …)` they
/// are evaluated once (an init plan), bare they are evaluated per row.
const PER_STATEMENT_CALLS: [&str; 5] = [
    "auth.uid()",
    "auth.jwt()",
    "auth.role()",
    "auth.email()",
    "current_setting(",
];

pub(super) fn check(catalog: &Catalog, scope: &Scope, out: &mut Vec<Finding>) {
    let roles = Roles::new(catalog);
    for policy in &catalog.storage_policies {
        storage(policy, scope, &roles, out);
    }
    for p in &catalog.policies {
        let project = p.project.as_str();
        let object = format!("{} policy {}", p.table, p.policy);
        let on = format!("{} ON {}", quote_ident(&p.policy), p.table);
        for role in &p.roles {
            let Some(other) = roles.project_of(role).filter(|o| *o != project) else {
                continue;
            };
            out.push(Finding::new(
                Code::ForeignPolicyRole,
                Some(project),
                &object,
                format!(
                    "policy `{}` on {} of project `{project}` names `{role}`, a role of project `{other}`: it lets that project's role in once privileges follow",
                    p.policy, p.table
                ),
                format!(
                    "`ALTER POLICY {on} TO <roles of {project}>` or `DROP POLICY {on}` in a migration of `{project}`"
                ),
            ));
        }
        let calls: Vec<&str> = [&p.using_expr, &p.check_expr]
            .into_iter()
            .flatten()
            .flat_map(|e| per_row_calls(e))
            .collect();
        if let Some(first) = calls.first() {
            let call = first.trim_end_matches('(');
            out.push(Finding::new(
                Code::PolicyPerRowCall,
                Some(project),
                &object,
                format!(
                    "policy `{}` on {} calls `{call}` for every row it checks",
                    p.policy, p.table
                ),
                format!(
                    "wrap the call as `(select {call}{})`: it is then evaluated once per statement",
                    if first.ends_with('(') { "…)" } else { "" }
                ),
            ));
        }
    }
}

/// A permissive policy on `storage.objects` naming project roles: the roles of one project,
/// declared with `storage`, each expression kept to that project's bucket (`bucket_id =
/// '<p>'`, alone or as the first of what it ANDs). Reported for every project in scope whose
/// roles it names or whose bucket it opens to another project's roles.
fn storage(policy: &StoragePolicyRow, scope: &Scope, roles: &Roles<'_>, out: &mut Vec<Finding>) {
    if !policy.permissive {
        // A restrictive policy only narrows what the permissive ones let through.
        return;
    }
    let named: BTreeSet<&str> = policy
        .roles
        .iter()
        .filter_map(|r| roles.project_of(r))
        .collect();
    let Some(&first) = named.iter().next() else {
        return;
    };
    let expressions: Vec<&str> = [&policy.using_expr, &policy.check_expr]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let problem = if named.len() > 1 {
        Some(format!(
            "names the roles of {} projects ({}): each project's roles reach its own bucket only",
            named.len(),
            named
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else if !scope.api_of(first).storage {
        Some(format!(
            "names roles of project `{first}`, which [projects.{first}.api] gives no Storage bucket"
        ))
    } else if expressions.is_empty() || !expressions.iter().all(|e| in_bucket(e, first)) {
        Some(format!(
            "lets roles of project `{first}` reach objects outside its bucket `{first}`"
        ))
    } else {
        None
    };
    let Some(problem) = problem else { return };
    let opened: Vec<&str> = expressions.iter().filter_map(|e| bucket_of(e)).collect();
    let mut projects: BTreeSet<&str> = named.clone();
    projects.extend(
        opened
            .iter()
            .filter(|b| roles.project_of(&format!("{b}_owner")) == Some(**b)),
    );
    let object = format!("storage.objects policy {}", policy.policy);
    for project in projects.into_iter().filter(|p| scope.includes(p)) {
        out.push(Finding::new(
            Code::StoragePolicy,
            Some(project),
            &object,
            format!(
                "policy `{}` on storage.objects (roles {}) {problem}",
                policy.policy,
                policy.roles.join(", ")
            ),
            format!(
                "`DROP POLICY {} ON storage.objects` as `supabase_storage_admin`, then run `cotenant provision {project}`: it creates the bucket's own policies",
                quote_ident(&policy.policy)
            ),
        ));
    }
}

/// Whether `expr` (as `pg_get_expr` prints it) holds only rows of bucket `project`: the
/// comparison alone, or the first term of a top-level AND (an OR around it would print as
/// `(((bucket_id = …`).
fn in_bucket(expr: &str, project: &str) -> bool {
    let test = format!("(bucket_id = {}::text)", quote_literal(project));
    expr == test || expr.starts_with(&format!("({test} AND "))
}

/// The bucket `expr` compares `bucket_id` with first, if any.
fn bucket_of(expr: &str) -> Option<&str> {
    let (_, rest) = expr.split_once("bucket_id = '")?;
    rest.split_once('\'').map(|(bucket, _)| bucket)
}

/// The per-statement calls in `expr` (as `pg_get_expr` prints it) not directly inside a
/// `( SELECT …`.
fn per_row_calls(expr: &str) -> Vec<&'static str> {
    let lower = expr.to_lowercase();
    PER_STATEMENT_CALLS
        .into_iter()
        .filter(|call| {
            lower
                .match_indices(call)
                .any(|(at, _)| !lower[..at].trim_end().ends_with("select"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{bucket_of, in_bucket, per_row_calls};

    #[test]
    fn a_storage_expression_is_in_a_bucket_only_when_the_bucket_test_holds_for_every_row() {
        assert!(in_bucket("(bucket_id = 'reli'::text)", "reli"));
        assert!(in_bucket(
            "((bucket_id = 'reli'::text) AND (owner = ( SELECT auth.uid() AS uid)))",
            "reli"
        ));
        assert!(!in_bucket("(bucket_id = 'annie'::text)", "reli"));
        assert!(!in_bucket(
            "(((bucket_id = 'reli'::text) AND (owner = auth.uid())) OR true)",
            "reli"
        ));
        assert!(!in_bucket("true", "reli"));
        assert_eq!(bucket_of("(bucket_id = 'annie'::text)"), Some("annie"));
        assert_eq!(bucket_of("true"), None);
    }

    #[test]
    fn bare_calls_are_per_row_and_wrapped_ones_are_not() {
        assert_eq!(per_row_calls("(auth.uid() = user_id)"), ["auth.uid()"]);
        assert!(per_row_calls("(( SELECT auth.uid() AS uid) = user_id)").is_empty());
        assert_eq!(
            per_row_calls(
                "((( SELECT auth.uid() AS uid) = user_id) AND (current_setting('app.tenant'::text) = tenant))"
            ),
            ["current_setting("]
        );
        assert!(per_row_calls("(owner = CURRENT_USER)").is_empty());
    }
}
