-- What people do: activities, notes, tasks, tags and files.

CREATE TABLE activities (
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    kind        text NOT NULL CHECK (kind IN ('call', 'email', 'meeting')),
    subject     text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    contact_id  uuid,
    deal_id     uuid,
    member_id   uuid,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, deal_id) REFERENCES deals (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, id) ON DELETE SET NULL (member_id)
);
ALTER TABLE activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY activities_org ON activities
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE notes (
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    body       text NOT NULL,
    contact_id uuid,
    deal_id    uuid,
    author_id  uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, deal_id) REFERENCES deals (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, author_id) REFERENCES members (org_id, id) ON DELETE SET NULL (author_id)
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_org ON notes
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE tasks (
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    title       text NOT NULL,
    due_at      timestamptz,
    done        boolean NOT NULL DEFAULT false,
    assignee_id uuid,
    deal_id     uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, assignee_id) REFERENCES members (org_id, id) ON DELETE SET NULL (assignee_id),
    FOREIGN KEY (org_id, deal_id) REFERENCES deals (org_id, id) ON DELETE CASCADE
);
CREATE INDEX tasks_open_due_idx ON tasks (org_id, due_at) WHERE NOT done;
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasks_org ON tasks
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE tags (
    org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id     uuid NOT NULL DEFAULT gen_random_uuid(),
    name   text NOT NULL,
    color  text NOT NULL DEFAULT '#888888' CHECK (color ~ '^#[0-9a-f]{6}$'),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name)
);
ALTER TABLE tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY tags_org ON tags
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE contact_tags (
    org_id     uuid NOT NULL,
    contact_id uuid NOT NULL,
    tag_id     uuid NOT NULL,
    PRIMARY KEY (org_id, contact_id, tag_id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, tag_id) REFERENCES tags (org_id, id) ON DELETE CASCADE
);
ALTER TABLE contact_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY contact_tags_org ON contact_tags
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));

CREATE TABLE files (
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    -- Where the bytes are (object storage); the database keeps metadata only.
    storage_path text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    uploaded_by  uuid,
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, storage_path),
    FOREIGN KEY (org_id, uploaded_by) REFERENCES members (org_id, id) ON DELETE SET NULL (uploaded_by)
);
ALTER TABLE files ENABLE ROW LEVEL SECURITY;
CREATE POLICY files_org ON files
    USING (org_id = (SELECT current_org_id()))
    WITH CHECK (org_id = (SELECT current_org_id()));
