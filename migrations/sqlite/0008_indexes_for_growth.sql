-- What keeps every statement an index look-up as accounts grow to millions (SQLite); the test
-- `plans` checks each statement the app runs against this.

-- Housekeeping finds what it deletes through indexes, so a sweep costs what it removes, not
-- what the tables hold.
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX mail_outbox_failed ON mail_outbox (failed_at) WHERE failed_at IS NOT NULL;
-- The sender takes a person's next mail only once their earlier ones are gone.
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, id) WHERE failed_at IS NULL;
-- The sweep now ends a session when it deletes the session's last unexpired token; a session
-- the earlier sweep's separate statements left without any token goes now.
DELETE FROM sessions
WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE refresh_tokens.session_id = sessions.id);

-- Creating or deleting an account checks the tables that refer to it by their user_id.
CREATE INDEX passkey_ceremonies_user_id ON passkey_ceremonies (user_id);
CREATE INDEX mfa_challenges_user_id ON mfa_challenges (user_id);
CREATE INDEX totp_factors_user_id ON totp_factors (user_id);

-- How many accounts have each combination of the admin list's filters, kept by the database
-- itself (the command line and changes by hand included), so the list's count is a sum of at
-- most eight rows instead of a count of a million.
CREATE TABLE user_counts (
    is_active      BIGINT NOT NULL,
    is_staff       BIGINT NOT NULL,
    email_verified BIGINT NOT NULL,
    n              BIGINT NOT NULL,
    PRIMARY KEY (is_active, is_staff, email_verified)
) WITHOUT ROWID;
INSERT INTO user_counts (is_active, is_staff, email_verified, n)
SELECT a.v, s.v, e.v,
       (SELECT COUNT(*) FROM users
        WHERE is_active = a.v AND is_staff = s.v AND email_verified = e.v)
FROM (SELECT 0 AS v UNION ALL SELECT 1) AS a,
     (SELECT 0 AS v UNION ALL SELECT 1) AS s,
     (SELECT 0 AS v UNION ALL SELECT 1) AS e;
CREATE TRIGGER users_counted_in AFTER INSERT ON users
BEGIN
    UPDATE user_counts SET n = n + 1
    WHERE is_active = NEW.is_active AND is_staff = NEW.is_staff
      AND email_verified = NEW.email_verified;
END;
CREATE TRIGGER users_counted_out AFTER DELETE ON users
BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE is_active = OLD.is_active AND is_staff = OLD.is_staff
      AND email_verified = OLD.email_verified;
END;
CREATE TRIGGER users_recounted AFTER UPDATE OF is_active, is_staff, email_verified ON users
WHEN (OLD.is_active, OLD.is_staff, OLD.email_verified)
     <> (NEW.is_active, NEW.is_staff, NEW.email_verified)
BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE is_active = OLD.is_active AND is_staff = OLD.is_staff
      AND email_verified = OLD.email_verified;
    UPDATE user_counts SET n = n + 1
    WHERE is_active = NEW.is_active AND is_staff = NEW.is_staff
      AND email_verified = NEW.email_verified;
END;
