-- Accounts, login sessions and their rotating refresh tokens (SQLite).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL CONSTRAINT users_username_key UNIQUE,
    email         TEXT    NOT NULL,
    email_key     TEXT    NOT NULL CONSTRAINT users_email_key UNIQUE,
    password_hash TEXT    NOT NULL,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    is_active     BIGINT  NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    date_joined   BIGINT  NOT NULL,
    last_login    BIGINT
);

-- One row per log-in; revoking it ends the session's access and refresh tokens at once.
CREATE TABLE sessions (
    id         TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Refresh tokens are kept only as a SHA-256 of their id; used_at marks a rotated token.
CREATE TABLE refresh_tokens (
    token_hash TEXT   PRIMARY KEY,
    session_id TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
