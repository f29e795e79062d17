-- Second factors (SQLite): authenticator apps, recovery codes, and log-ins waiting for their
-- second step.

-- An authenticator app's key, sealed with ENCRYPTION_KEY. A user has at most one active
-- factor (confirmed by a code) and one pending enrolment; confirming the pending one replaces
-- the active one, so starting again never locks anyone out. `last_step` is the newest 30-second
-- step whose code was accepted: a code is good once.
CREATE TABLE totp_factors (
    id           INTEGER PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL DEFAULT -1
);
CREATE UNIQUE INDEX totp_factors_active ON totp_factors (user_id) WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX totp_factors_pending ON totp_factors (user_id) WHERE confirmed_at IS NULL;

-- Ten codes shown once at activation, stored as SHA-256, each good once.
CREATE TABLE recovery_codes (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A password accepted for an account with a second factor: the token (stored as SHA-256) that
-- lets the second step finish the log-in, once, within five minutes.
CREATE TABLE mfa_challenges (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);
