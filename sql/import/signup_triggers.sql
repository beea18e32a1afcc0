-- The source's triggers on auth.users that fire a routine of `public` (a `handle_new_user`): the
-- import recreates them on the target's auth.users inside its transaction, so that relocation
-- turns each into the project's signup hook exactly as it does for an app already on the shared
-- instance. `pg_get_triggerdef` names the routine with its schema.
SELECT t.tgname::text AS name, pg_get_triggerdef(t.oid) AS definition
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = to_regclass('auth.users')
  AND NOT t.tgisinternal
  AND p.pronamespace = 'public'::regnamespace
ORDER BY t.tgname
