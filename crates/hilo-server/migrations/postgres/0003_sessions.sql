-- Signed-in agency users of hilo's web pages (the OAuth consent page). The cookie holds a random
-- token; only its SHA-256 is kept. The CSRF token is checked on every form the session posts.
-- Kept aligned with migrations/sqlite/0003_sessions.sql (a test compares the two).
CREATE TABLE user_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company_id TEXT NOT NULL REFERENCES companies(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX user_sessions_expires_at ON user_sessions (expires_at);
