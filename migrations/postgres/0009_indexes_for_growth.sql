-- What keeps every statement an index look-up as accounts grow to millions (PostgreSQL); the
-- test `plans` checks each statement the app runs against this.

-- Housekeeping finds what it deletes through indexes, so a sweep costs what it removes, not
-- what the tables hold.
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX mail_outbox_failed ON mail_outbox (failed_at) WHERE failed_at IS NOT NULL;
-- The sender takes the oldest due mail, by (next_attempt_at, id): the index gives that order
-- itself, so a claim reads one entry, not every mail due in the same second (a burst of a
-- thousand, or a backlog of a hundred thousand, sorted on each claim). SQLite's index has
-- the id (its rowid) in it already.
DROP INDEX mail_outbox_due;
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE failed_at IS NULL;
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
-- itself (the command line, a Django service sharing the database and changes by hand
-- included), so the list's count is a sum of at most eight rows instead of a count of a
-- million.
CREATE TABLE user_counts (
    is_active      BOOLEAN NOT NULL,
    is_staff       BOOLEAN NOT NULL,
    email_verified BOOLEAN NOT NULL,
    n              BIGINT  NOT NULL,
    PRIMARY KEY (is_active, is_staff, email_verified)
);
INSERT INTO user_counts (is_active, is_staff, email_verified, n)
SELECT a, s, e,
       (SELECT COUNT(*) FROM users WHERE is_active = a AND is_staff = s AND email_verified = e)
FROM (VALUES (FALSE), (TRUE)) AS fa(a), (VALUES (FALSE), (TRUE)) AS fs(s),
     (VALUES (FALSE), (TRUE)) AS fe(e);

-- Once per statement, from its transition tables (a bulk insert of a million accounts updates
-- the counts once); one UPDATE applies the net change, so an update that leaves every flag as
-- it was (a log-in's last_login) writes nothing, and two transactions take the rows they
-- change in the same order.
CREATE FUNCTION latchkey_count_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts AS c SET n = c.n + d.delta
    FROM (
        SELECT is_active, is_staff, email_verified, SUM(delta) AS delta
        FROM (
            SELECT is_active, is_staff, email_verified, 1 AS delta FROM counted_in
            UNION ALL
            SELECT is_active, is_staff, email_verified, -1 FROM counted_out
        ) AS changes
        GROUP BY is_active, is_staff, email_verified
        HAVING SUM(delta) <> 0
    ) AS d
    WHERE (c.is_active, c.is_staff, c.email_verified)
        = (d.is_active, d.is_staff, d.email_verified);
    RETURN NULL;
END $$;
-- An INSERT or a DELETE has one transition table, so each has a function of its own.
CREATE FUNCTION latchkey_count_inserted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts AS c SET n = c.n + d.delta
    FROM (SELECT is_active, is_staff, email_verified, COUNT(*) AS delta FROM counted_in
          GROUP BY is_active, is_staff, email_verified) AS d
    WHERE (c.is_active, c.is_staff, c.email_verified)
        = (d.is_active, d.is_staff, d.email_verified);
    RETURN NULL;
END $$;
CREATE FUNCTION latchkey_count_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts AS c SET n = c.n - d.delta
    FROM (SELECT is_active, is_staff, email_verified, COUNT(*) AS delta FROM counted_out
          GROUP BY is_active, is_staff, email_verified) AS d
    WHERE (c.is_active, c.is_staff, c.email_verified)
        = (d.is_active, d.is_staff, d.email_verified);
    RETURN NULL;
END $$;
CREATE FUNCTION latchkey_count_no_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts SET n = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER users_counted_in AFTER INSERT ON users
    REFERENCING NEW TABLE AS counted_in
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_inserted_users();
CREATE TRIGGER users_counted_out AFTER DELETE ON users
    REFERENCING OLD TABLE AS counted_out
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_deleted_users();
CREATE TRIGGER users_recounted AFTER UPDATE ON users
    REFERENCING OLD TABLE AS counted_out NEW TABLE AS counted_in
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_users();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_count_no_users();
