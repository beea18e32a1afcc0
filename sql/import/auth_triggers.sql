-- The enabled triggers on the target's auth.users other than internal ones (foreign keys): the
-- signup dispatcher and any a neighbour's app still has. An import disables them around inserting
-- the imported users (who are not signups) and enables them again, all in its transaction.
SELECT t.tgname::text
FROM pg_trigger t
WHERE t.tgrelid = to_regclass('auth.users')
  AND NOT t.tgisinternal
  AND t.tgenabled <> 'D'
ORDER BY 1
