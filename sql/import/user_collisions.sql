-- The source's users ($1 ids as text, $2 emails, in the same order) that the shared instance's auth.users
-- cannot take as they are: their email belongs to another user there, or their id does and with
-- another email. A user with the same id and the same email is the same user (an earlier import):
-- no collision. Emails compare case-insensitively, as GoTrue compares them.
SELECT s.id::text AS source_id, s.email, u.id::text AS target_id, u.email AS target_email
FROM (SELECT id::uuid AS id, email FROM unnest($1::text[], $2::text[]) AS given(id, email)) s
JOIN auth.users u
  ON (u.id <> s.id AND lower(u.email) = lower(s.email))
  OR (u.id = s.id AND lower(u.email) IS DISTINCT FROM lower(s.email))
ORDER BY s.email, u.id
