-- Location users, contact followers, campaigns and workflows with their enrolments, and the
-- tombstones of deleted contacts. Kept aligned with migrations/sqlite/0005_followers_campaigns_workflows.sql
-- (a test compares the two).

-- A user with a location_id is a user of that location only (HighLevel's "account" users);
-- without one, an agency user, as before.
ALTER TABLE users ADD COLUMN location_id TEXT REFERENCES locations(id);
CREATE INDEX users_location ON users(location_id);

-- Users following a contact, in the order they were added.
CREATE TABLE contact_followers (
    location_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    position    BIGINT NOT NULL,
    PRIMARY KEY (contact_id, user_id)
);
CREATE INDEX contact_followers_location_user ON contact_followers(location_id, user_id);

CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations(id),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX campaigns_location ON campaigns(location_id, created_at);

CREATE TABLE contact_campaigns (
    location_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts(id),
    campaign_id TEXT NOT NULL REFERENCES campaigns(id),
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (contact_id, campaign_id)
);
CREATE INDEX contact_campaigns_location_campaign ON contact_campaigns(location_id, campaign_id);

-- Workflow ids are UUIDs, as HighLevel's are.
CREATE TABLE workflows (
    id          TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations(id),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX workflows_location ON workflows(location_id, created_at);

CREATE TABLE contact_workflows (
    location_id      TEXT NOT NULL,
    contact_id       TEXT NOT NULL REFERENCES contacts(id),
    workflow_id      TEXT NOT NULL REFERENCES workflows(id),
    -- The eventStartTime of the enrolment, epoch milliseconds; NULL: start at once.
    event_start_time BIGINT,
    added_at         BIGINT NOT NULL,
    PRIMARY KEY (contact_id, workflow_id)
);
CREATE INDEX contact_workflows_location_workflow ON contact_workflows(location_id, workflow_id);

-- Ids of deleted contacts, so that bulk operations can answer "contact is deleted".
CREATE TABLE deleted_contacts (
    id          TEXT PRIMARY KEY,
    location_id TEXT NOT NULL,
    deleted_at  BIGINT NOT NULL
);
