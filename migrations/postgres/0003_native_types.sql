-- Flags as BOOLEAN and times as TIMESTAMPTZ, as psql, BI tools and a Django service sharing the
-- database expect (they were integers while sqlx's Any driver stood between app and database).
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_is_active_check;
ALTER TABLE users
    ALTER COLUMN is_active DROP DEFAULT,
    ALTER COLUMN is_active TYPE BOOLEAN USING is_active <> 0,
    ALTER COLUMN is_active SET DEFAULT TRUE,
    ALTER COLUMN date_joined TYPE TIMESTAMPTZ USING to_timestamp(date_joined),
    ALTER COLUMN last_login TYPE TIMESTAMPTZ USING to_timestamp(last_login);

ALTER TABLE sessions
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN revoked_at TYPE TIMESTAMPTZ USING to_timestamp(revoked_at);

ALTER TABLE refresh_tokens
    ALTER COLUMN expires_at TYPE TIMESTAMPTZ USING to_timestamp(expires_at),
    ALTER COLUMN used_at TYPE TIMESTAMPTZ USING to_timestamp(used_at);

-- A counter that was never blocked is blocked until the epoch: comparisons stay plain.
ALTER TABLE throttles
    ALTER COLUMN window_start TYPE TIMESTAMPTZ USING to_timestamp(window_start),
    ALTER COLUMN blocked_until DROP DEFAULT,
    ALTER COLUMN blocked_until TYPE TIMESTAMPTZ USING to_timestamp(blocked_until),
    ALTER COLUMN blocked_until SET DEFAULT 'epoch';
