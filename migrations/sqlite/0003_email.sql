-- Email verification, one-time links and the mail queue (SQLite).
ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));

-- Links mailed to a person: verifying an address, resetting a password, confirming a new
-- address. Only a SHA-256 of the token is kept; a user has at most one live link per purpose
-- (a newer one replaces the older), and using a link deletes it.
CREATE TABLE one_time_tokens (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT   NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    email      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT one_time_tokens_user_purpose UNIQUE (user_id, purpose)
);
CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at);

-- The outbox: a mail is queued in the same transaction as what it confirms, and a sender on
-- every instance delivers it. A sender claims a mail by setting `locked_until` (a lease), so
-- several instances never send one twice; a delivered mail is deleted, since its link holds a
-- token. `user_id` is NULL for mail that outlives its account (the deletion notice).
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    user_id         BIGINT REFERENCES users (id) ON DELETE CASCADE,
    recipient       TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    text_body       TEXT   NOT NULL,
    html_body       TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT,
    last_error      TEXT,
    failed_at       BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE failed_at IS NULL;
CREATE INDEX mail_outbox_user_id ON mail_outbox (user_id);
