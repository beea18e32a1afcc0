//! Row-level security policies of the projects: none may name another project's role (an
//! isolation invariant), and none should call `auth.uid()` and friends once per row (a lint,
//! Supabase's `auth_rls_initplan`).

use super::catalog::Catalog;
use super::roles::Roles;
use super::{Code, Finding};
use crate::ident::quote_ident;

/// Calls whose value is the same for every row of a statement: wrapped in `(select …)` they
/// are evaluated once (an init plan), bare they are evaluated per row.
const PER_STATEMENT_CALLS: [&str; 5] = [
    "auth.uid()",
    "auth.jwt()",
    "auth.role()",
    "auth.email()",
    "current_setting(",
];

pub(super) fn check(catalog: &Catalog, out: &mut Vec<Finding>) {
    let roles = Roles::new(catalog);
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
    use super::per_row_calls;

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
