-- The audit's read of routines: every function and procedure in the project schemas, whether
-- it is SECURITY DEFINER and whether it pins its search_path (`SET search_path = …`). $1 the
-- schemas' OIDs. Aggregates and routines that belong to an extension are left out.
SELECT n.nspname::text AS project,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS object,
       p.prosecdef AS definer,
       EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%') AS pins_search_path
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.pronamespace = ANY ($1::oid[]) AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid
                  AND e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e')
ORDER BY 1, 2
