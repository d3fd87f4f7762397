-- The foundation schema. Kept aligned with migrations/sqlite/0001_foundation.sql (a test
-- compares the two). Timestamps are epoch milliseconds; ids are TEXT; flags are BIGINT 0/1,
-- because sqlx's Any driver cannot decode SQLite booleans.
CREATE TABLE companies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE locations (
    id                      TEXT PRIMARY KEY,
    company_id              TEXT NOT NULL REFERENCES companies(id),
    name                    TEXT NOT NULL,
    country                 TEXT NOT NULL,
    timezone                TEXT NOT NULL,
    allow_duplicate_contact BIGINT NOT NULL,
    created_at              BIGINT NOT NULL
);
CREATE INDEX locations_company ON locations(company_id);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    company_id  TEXT NOT NULL REFERENCES companies(id),
    location_id TEXT REFERENCES locations(id),
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE businesses (
    id          TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations(id),
    name        TEXT NOT NULL,
    phone       TEXT,
    email       TEXT,
    website     TEXT,
    address     TEXT,
    city        TEXT,
    description TEXT,
    state       TEXT,
    postal_code TEXT,
    country     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX businesses_location ON businesses(location_id, created_at);

CREATE TABLE contacts (
    id                   TEXT PRIMARY KEY,
    location_id          TEXT NOT NULL REFERENCES locations(id),
    first_name           TEXT,
    last_name            TEXT,
    name                 TEXT,
    first_name_lower     TEXT,
    last_name_lower      TEXT,
    full_name_lower      TEXT,
    email                TEXT,
    email_lower          TEXT,
    phone                TEXT,
    company_name         TEXT,
    timezone             TEXT,
    dnd                  BIGINT NOT NULL,
    dnd_settings         TEXT,
    inbound_dnd_settings TEXT,
    contact_type         TEXT NOT NULL,
    source               TEXT,
    assigned_to          TEXT,
    address1             TEXT,
    city                 TEXT,
    state                TEXT,
    country              TEXT,
    postal_code          TEXT,
    website              TEXT,
    gender               TEXT,
    date_of_birth        TEXT,
    business_id          TEXT REFERENCES businesses(id),
    custom_fields        TEXT NOT NULL,
    created_by           TEXT,
    date_added           BIGINT NOT NULL,
    date_updated         BIGINT NOT NULL
);
CREATE INDEX contacts_location_added ON contacts(location_id, date_added, id);
CREATE INDEX contacts_location_email ON contacts(location_id, email_lower);
CREATE INDEX contacts_location_phone ON contacts(location_id, phone);
CREATE INDEX contacts_location_business ON contacts(location_id, business_id);

CREATE TABLE contact_tags (
    location_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts(id),
    tag         TEXT NOT NULL,
    position    BIGINT NOT NULL,
    PRIMARY KEY (contact_id, tag)
);
CREATE INDEX contact_tags_location_tag ON contact_tags(location_id, tag);

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    location_id  TEXT NOT NULL,
    contact_id   TEXT NOT NULL REFERENCES contacts(id),
    title        TEXT NOT NULL,
    body         TEXT,
    assigned_to  TEXT,
    due_date     BIGINT NOT NULL,
    completed    BIGINT NOT NULL,
    date_added   BIGINT NOT NULL,
    date_updated BIGINT NOT NULL
);
CREATE INDEX tasks_contact ON tasks(location_id, contact_id, date_added);

CREATE TABLE notes (
    id           TEXT PRIMARY KEY,
    location_id  TEXT NOT NULL,
    contact_id   TEXT NOT NULL REFERENCES contacts(id),
    body         TEXT NOT NULL,
    user_id      TEXT,
    title        TEXT,
    color        TEXT,
    pinned       BIGINT NOT NULL,
    date_added   BIGINT NOT NULL,
    date_updated BIGINT NOT NULL
);
CREATE INDEX notes_contact ON notes(location_id, contact_id, date_added);
