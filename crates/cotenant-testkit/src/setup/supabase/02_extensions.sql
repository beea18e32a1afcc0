-- Hosted Supabase's `extensions` schema: where extensions are installed, usable by the API roles
-- but not by PUBLIC, and everything in it granted to the admin and the dashboard.
-- Learned from supabase/postgres migrations/db: init-scripts/00000000000000-initial-schema.sql
-- (uuid-ossp, pgcrypto in extensions; USAGE to postgres and the API roles),
-- 00000000000003-post-setup.sql (dashboard_user), migrations/10000000000000_demote-postgres.sql
-- (ALL to postgres). pg_stat_statements is preloaded by the test servers' settings (settings.rs)
-- and created here, as hosted instances have it; contrib ships it with both binaries we run.

CREATE SCHEMA extensions;
CREATE EXTENSION "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions;

GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
GRANT ALL ON SCHEMA extensions TO postgres, dashboard_user;
GRANT ALL ON ALL TABLES IN SCHEMA extensions TO postgres, dashboard_user;
GRANT ALL ON ALL SEQUENCES IN SCHEMA extensions TO postgres, dashboard_user;
GRANT ALL ON ALL ROUTINES IN SCHEMA extensions TO postgres, dashboard_user;
