-- Companies, contacts and the deals pipeline.

CREATE TABLE companies (
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    domain     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id)
);
CREATE TRIGGER companies_touch BEFORE UPDATE ON companies
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
CREATE POLICY companies_org ON companies
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE contacts (
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    company_id uuid,
    first_name text NOT NULL,
    last_name  text,
    email      text,
    phone      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id) ON DELETE SET NULL (company_id)
);
CREATE INDEX contacts_company_idx ON contacts (org_id, company_id);
CREATE TRIGGER contacts_touch BEFORE UPDATE ON contacts
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY contacts_org ON contacts
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE pipelines (
    org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id     uuid NOT NULL DEFAULT gen_random_uuid(),
    name   text NOT NULL,
    PRIMARY KEY (org_id, id)
);
ALTER TABLE pipelines ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipelines_org ON pipelines
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE pipeline_stages (
    org_id      uuid NOT NULL,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    pipeline_id uuid NOT NULL,
    name        text NOT NULL,
    position    integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, pipeline_id, position),
    FOREIGN KEY (org_id, pipeline_id) REFERENCES pipelines (org_id, id) ON DELETE CASCADE
);
ALTER TABLE pipeline_stages ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipeline_stages_org ON pipeline_stages
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE deals (
    org_id     uuid NOT NULL,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    stage_id   uuid NOT NULL,
    company_id uuid,
    owner_id   uuid,
    title      text NOT NULL,
    amount     numeric(14, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    currency   char(3) NOT NULL DEFAULT 'EUR',
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
    closed_at  timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, stage_id) REFERENCES pipeline_stages (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id) ON DELETE SET NULL (company_id),
    FOREIGN KEY (org_id, owner_id) REFERENCES members (org_id, id) ON DELETE SET NULL (owner_id),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX deals_stage_idx ON deals (org_id, stage_id);
CREATE INDEX deals_company_idx ON deals (org_id, company_id);
CREATE TRIGGER deals_touch BEFORE UPDATE ON deals
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE deals ENABLE ROW LEVEL SECURITY;
CREATE POLICY deals_org ON deals
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE deal_contacts (
    org_id     uuid NOT NULL,
    deal_id    uuid NOT NULL,
    contact_id uuid NOT NULL,
    PRIMARY KEY (org_id, deal_id, contact_id),
    FOREIGN KEY (org_id, deal_id) REFERENCES deals (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE
);
ALTER TABLE deal_contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY deal_contacts_org ON deal_contacts
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

-- A view runs with its owner's rights unless it says otherwise, which would bypass row-level
-- security: security_invoker makes the caller's policies apply.
CREATE VIEW open_deals WITH (security_invoker = true) AS
SELECT d.org_id, d.id, d.title, d.amount, d.currency, s.name AS stage, c.name AS company
FROM deals d
JOIN pipeline_stages s ON s.org_id = d.org_id AND s.id = d.stage_id
LEFT JOIN companies c ON c.org_id = d.org_id AND c.id = d.company_id
WHERE d.status = 'open';
