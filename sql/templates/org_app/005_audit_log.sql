-- An append-only audit log of changes to members, deals, invoices and payments.

-- org_id has no foreign key on purpose: deleting an organization cascades to its members, deals…
-- whose triggers write here about an organization that is being deleted.
CREATE TABLE audit_log (
    org_id     uuid NOT NULL,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    table_name text NOT NULL,
    row_id     uuid,
    action     text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    actor_id   uuid,
    at         timestamptz NOT NULL DEFAULT now(),
    data       jsonb NOT NULL,
    PRIMARY KEY (org_id, id)
);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
-- Policies for reading and adding only: with RLS on, UPDATE and DELETE find no row, so the
-- service cannot rewrite history even though the default privileges grant it those verbs.
CREATE POLICY audit_log_read ON audit_log FOR SELECT
    USING (org_id = (SELECT current_org_id()));
CREATE POLICY audit_log_append ON audit_log FOR INSERT
    WITH CHECK (org_id = (SELECT current_org_id()));

-- Runs as the caller (not SECURITY DEFINER): the row it writes passes the same policies.
CREATE FUNCTION audit() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    row_data jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
    INSERT INTO audit_log (org_id, table_name, row_id, action, actor_id, data)
    VALUES ((row_data ->> 'org_id')::uuid, TG_TABLE_NAME, (row_data ->> 'id')::uuid,
            lower(TG_OP), current_user_id(), row_data);
    RETURN NULL;
END
$$;

CREATE TRIGGER members_audit AFTER INSERT OR UPDATE OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION audit();
CREATE TRIGGER deals_audit AFTER INSERT OR UPDATE OR DELETE ON deals
    FOR EACH ROW EXECUTE FUNCTION audit();
CREATE TRIGGER invoices_audit AFTER INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION audit();
CREATE TRIGGER payments_audit AFTER INSERT OR UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION audit();
