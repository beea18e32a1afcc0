-- Provisioning's catalog read, while PUBLIC may still connect to the database: the logins that
-- connect today only because PUBLIC may. They keep CONNECT and TEMP when PUBLIC's are revoked, so
-- hardening never locks out a service already using the instance. $1 the OIDs of the project's
-- roles, $2 the name of the role project logins connect through on 16+ (`cotenant_connect`): its
-- members do not rely on PUBLIC. One JSON document: a list of role names.
SELECT coalesce(jsonb_agg(r.rolname ORDER BY r.rolname), '[]')::text
FROM pg_roles r, pg_database d
WHERE d.datname = current_database()
  AND r.rolcanlogin AND NOT r.rolsuper AND r.oid <> d.datdba
  AND r.oid <> ALL ($1::oid[])
  AND NOT EXISTS (SELECT 1 FROM pg_auth_members m
                  WHERE m.member = r.oid AND m.roleid = to_regrole(quote_ident($2)))
  AND NOT aclcontains(coalesce(d.datacl, acldefault('d', d.datdba)), makeaclitem(r.oid, d.datdba, 'CONNECT', false))
  AND NOT aclcontains(coalesce(d.datacl, acldefault('d', d.datdba)), makeaclitem(r.oid, d.datdba, 'CONNECT', true))
