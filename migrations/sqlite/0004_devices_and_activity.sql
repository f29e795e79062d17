-- Where each session runs, when it last proved the password, and the account's security
-- events (SQLite).
ALTER TABLE sessions ADD COLUMN last_used_at BIGINT;
ALTER TABLE sessions ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
-- When the session last proved the password (log-in, or the password typed again): sensitive
-- changes within REAUTH_MAX_AGE of it need no password again.
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT;

-- Log-ins, failed log-ins, password and address changes, ended sessions, stolen tokens: what
-- the activity page lists, kept 90 days.
CREATE TABLE security_events (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    client_ip  TEXT   NOT NULL DEFAULT '',
    user_agent TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX security_events_user_at ON security_events (user_id, at);
CREATE INDEX security_events_at ON security_events (at);
