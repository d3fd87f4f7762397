-- Marketplace apps, their installations, agency users, and the OAuth 2.0 grants issued to apps.
-- Kept aligned with migrations/sqlite/0002_oauth.sql (a test compares the two).

-- Agency users: they sign in to the consent page and appear as the installing `userId`.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    company_id    TEXT NOT NULL REFERENCES companies(id),
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE apps (
    id                 TEXT PRIMARY KEY,
    company_id         TEXT NOT NULL REFERENCES companies(id),
    name               TEXT NOT NULL,
    client_id          TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL,
    -- One URI per line; a redirect_uri must equal one of them exactly.
    redirect_uris      TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    webhook_url        TEXT,
    distribution       TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    -- Deleted apps stay as rows so their revoked grants stay visible to every server process.
    deleted_at         BIGINT
);

-- An app installed on a location, or on an agency (location_id NULL).
CREATE TABLE app_installations (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    company_id     TEXT NOT NULL REFERENCES companies(id),
    location_id    TEXT REFERENCES locations(id),
    user_id        TEXT,
    scopes         TEXT NOT NULL,
    installed_at   BIGINT NOT NULL,
    uninstalled_at BIGINT
);
CREATE INDEX app_installations_app ON app_installations(app_id, company_id, location_id);

-- Authorization codes, single use; stored hashed.
CREATE TABLE oauth_codes (
    code_hash       TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    installation_id TEXT NOT NULL REFERENCES app_installations(id) ON DELETE CASCADE,
    user_type       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    created_at      BIGINT NOT NULL
);

-- What one code exchange (or one location-token request) granted. Access tokens name their
-- grant, so revoking the grant revokes them; refresh tokens rotate within it.
CREATE TABLE oauth_grants (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    installation_id TEXT NOT NULL REFERENCES app_installations(id) ON DELETE CASCADE,
    parent_grant_id TEXT REFERENCES oauth_grants(id) ON DELETE CASCADE,
    code_hash       TEXT,
    user_type       TEXT NOT NULL,
    company_id      TEXT NOT NULL REFERENCES companies(id),
    location_id     TEXT REFERENCES locations(id),
    user_id         TEXT,
    scopes          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX oauth_grants_installation ON oauth_grants(installation_id);
CREATE INDEX oauth_grants_code ON oauth_grants(code_hash);
CREATE INDEX oauth_grants_revoked ON oauth_grants(revoked_at);

CREATE TABLE oauth_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens(grant_id);

-- Keys hilo creates on first start and keeps (the access-token signing secret, later the
-- webhook key pairs).
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
