//! Signup hooks: one dispatcher on `auth.users` that calls each opted-in project's hook in its
//! own subtransaction.
//!
//! The dispatcher's body is generated from the set of registered hooks (one call per hook, in
//! project order) whenever that set changes, so a signup reads no registry. It runs as
//! `cotenant_signup`, which may execute every hook: a hook that stopped being SECURITY DEFINER
//! would run as that role and could reach other projects' hooks, so each signup first checks,
//! by OID, that every hook is still SECURITY DEFINER, owned by its project's owner and pins its
//! search_path, and skips (with a warning) any that is not.

use super::plan::PLATFORM_SCHEMA;
use crate::ident::{quote_ident, quote_literal};

/// The trigger on `auth.users` that calls the dispatcher.
pub(crate) const TRIGGER: &str = "cotenant_signup_hooks";

/// What a hook sees of a new user: the columns of `auth.users` that hold no secret, with the
/// type each has in `cotenant_platform.signup_user`. Never `encrypted_password` or any token.
pub(crate) const SIGNUP_COLUMNS: &[(&str, &str)] = &[
    ("id", "uuid"),
    ("aud", "text"),
    ("role", "text"),
    ("email", "text"),
    ("phone", "text"),
    ("email_confirmed_at", "timestamptz"),
    ("phone_confirmed_at", "timestamptz"),
    ("raw_app_meta_data", "jsonb"),
    ("raw_user_meta_data", "jsonb"),
    ("created_at", "timestamptz"),
];

/// A registered hook: `<project>.<function>(cotenant_platform.signup_user)`, by OID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hook {
    pub(crate) project: String,
    pub(crate) function: String,
    pub(crate) oid: i64,
}

/// The dispatcher's PL/pgSQL body for `hooks` (sorted by project).
pub(crate) fn dispatcher_body(hooks: &[Hook]) -> String {
    let schema = quote_ident(PLATFORM_SCHEMA);
    if hooks.is_empty() {
        return "\nBEGIN\n    RETURN NULL;\nEND\n".to_owned();
    }
    let fields: Vec<String> = SIGNUP_COLUMNS
        .iter()
        .map(|(name, _)| format!("NEW.{}", quote_ident(name)))
        .collect();
    let checks: Vec<String> = hooks
        .iter()
        .map(|h| {
            format!(
                "({}::pg_catalog.oid, {})",
                h.oid,
                quote_literal(&format!("{}_owner", h.project))
            )
        })
        .collect();
    let mut body = format!(
        "
DECLARE
    u {schema}.signup_user := ROW({})::{schema}.signup_user;
    ok pg_catalog.oid[];
BEGIN
    -- Hooks still SECURITY DEFINER, owned by their project's owner, with a pinned search_path:
    -- any other would run as this function's owner, which may call every project's hook.
    SELECT pg_catalog.array_agg(p.oid) INTO ok
    FROM (VALUES {}) AS h (fn, owner)
    JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) h.fn
    WHERE p.prosecdef
      AND p.proowner OPERATOR(pg_catalog.=) pg_catalog.to_regrole(h.owner)
      AND EXISTS (SELECT FROM pg_catalog.unnest(p.proconfig) AS c (setting)
                  WHERE c.setting OPERATOR(pg_catalog.~~) 'search\\_path=%');
",
        fields.join(", "),
        checks.join(", ")
    );
    for h in hooks {
        let project = quote_literal(&h.project);
        let call = format!("{}.{}", quote_ident(&h.project), quote_ident(&h.function));
        body.push_str(&format!(
            "    IF {oid}::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (ok) THEN
        BEGIN
            PERFORM {call}(u);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'cotenant: the signup hook of project % failed: % (SQLSTATE %)',
                {project}, SQLERRM, SQLSTATE;
        END;
    ELSE
        RAISE WARNING 'cotenant: skipped the signup hook of project %: % is not SECURITY DEFINER owned by %_owner with a pinned search_path',
            {project}, {call_literal}, {project};
    END IF;
",
            oid = h.oid,
            call_literal = quote_literal(&call),
        ));
    }
    body.push_str("    RETURN NULL;\nEND\n");
    body
}

/// The statement that (re)writes the dispatcher with `body`, run as `cotenant_signup`.
pub(crate) fn dispatcher_sql(body: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {}.dispatch_signup() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $cotenant${body}$cotenant$",
        quote_ident(PLATFORM_SCHEMA)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hook_gets_its_own_subtransaction_and_run_time_check() {
        let hooks = [
            Hook {
                project: "annie".into(),
                function: "on_signup".into(),
                oid: 101,
            },
            Hook {
                project: "reli".into(),
                function: "handle_new_user".into(),
                oid: 202,
            },
        ];
        let body = dispatcher_body(&hooks);
        assert!(
            body.contains(
                "(101::pg_catalog.oid, 'annie_owner'), (202::pg_catalog.oid, 'reli_owner')"
            )
        );
        assert_eq!(body.matches("EXCEPTION WHEN OTHERS").count(), 2);
        let annie = body.find(r#"PERFORM "annie"."on_signup"(u)"#).unwrap();
        let reli = body.find(r#"PERFORM "reli"."handle_new_user"(u)"#).unwrap();
        assert!(annie < reli, "hooks run in project order");
        assert!(!body.contains("encrypted_password"));
    }

    #[test]
    fn no_hooks_make_a_dispatcher_that_does_nothing() {
        assert_eq!(dispatcher_body(&[]), "\nBEGIN\n    RETURN NULL;\nEND\n");
    }
}
