-- Products, invoices and payments.

CREATE TYPE invoice_status AS ENUM ('draft', 'sent', 'paid', 'void');

CREATE TABLE products (
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    sku        text NOT NULL,
    name       text NOT NULL,
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    active     boolean NOT NULL DEFAULT true,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, sku)
);
ALTER TABLE products ENABLE ROW LEVEL SECURITY;
CREATE POLICY products_org ON products
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE invoices (
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    number     text NOT NULL,
    company_id uuid NOT NULL,
    status     invoice_status NOT NULL DEFAULT 'draft',
    currency   char(3) NOT NULL DEFAULT 'EUR',
    issued_on  date,
    due_on     date,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, number),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id),
    CHECK (due_on IS NULL OR issued_on IS NULL OR due_on >= issued_on)
);
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_org ON invoices
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE invoice_items (
    org_id     uuid NOT NULL,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    invoice_id uuid NOT NULL,
    product_id uuid,
    label      text NOT NULL,
    quantity   numeric(12, 3) NOT NULL CHECK (quantity > 0),
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    line_total numeric(16, 2) GENERATED ALWAYS AS (round(quantity * unit_price, 2)) STORED,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, product_id) REFERENCES products (org_id, id) ON DELETE SET NULL (product_id)
);
CREATE INDEX invoice_items_invoice_idx ON invoice_items (org_id, invoice_id);
ALTER TABLE invoice_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoice_items_org ON invoice_items
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE payments (
    org_id     uuid NOT NULL,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    invoice_id uuid NOT NULL,
    amount     numeric(14, 2) NOT NULL CHECK (amount > 0),
    method     text NOT NULL CHECK (method IN ('card', 'transfer', 'cash')),
    paid_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id)
);
CREATE INDEX payments_invoice_idx ON payments (org_id, invoice_id);
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY payments_org ON payments
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));
