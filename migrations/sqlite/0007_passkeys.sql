-- Passkeys (SQLite): WebAuthn credentials, and ceremonies begun on one instance that any
-- instance may finish.

-- A passkey: its credential id (base64url, unique across accounts), the WebAuthn user handle
-- it was made for (one per account, random, never the account id), and the key with its
-- counter and flags as webauthn-rs keeps them. Public keys, not secrets.
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT   NOT NULL UNIQUE,
    user_handle   TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    passkey       TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- A registration or sign-in begun: its token (stored as SHA-256), whose it is (a registration
-- belongs to an account; a sign-in does not know its person yet), and webauthn-rs's state,
-- holding the challenge. Finished once, within five minutes.
CREATE TABLE passkey_ceremonies (
    token_hash TEXT   PRIMARY KEY,
    purpose    TEXT   NOT NULL CHECK (purpose IN ('register', 'sign_in')),
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);
