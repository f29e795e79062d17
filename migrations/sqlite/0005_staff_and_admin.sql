-- Staff, groups and permissions as Django has them; the audit log of admin actions; and the
-- change log through which every instance learns, within a poll, that a user or session
-- changed, whoever changed it (SQLite).
ALTER TABLE users ADD COLUMN is_staff BIGINT NOT NULL DEFAULT 0 CHECK (is_staff IN (0, 1));
ALTER TABLE users ADD COLUMN is_superuser BIGINT NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1));
CREATE INDEX users_staff ON users (id) WHERE is_staff = 1;
-- The admin's search by the start of a name (the keys' unique indexes serve the username and
-- address) and its sort by date joined.
CREATE INDEX users_first_name ON users (lower(first_name));
CREATE INDEX users_last_name ON users (lower(last_name));
CREATE INDEX users_date_joined ON users (date_joined, id);

-- Codenames as Django writes them: app_label.codename.
CREATE TABLE auth_permissions (
    codename TEXT PRIMARY KEY,
    name     TEXT NOT NULL
);
INSERT INTO auth_permissions (codename, name) VALUES
    ('accounts.view_user', 'Can view user'),
    ('accounts.add_user', 'Can add user'),
    ('accounts.change_user', 'Can change user'),
    ('accounts.delete_user', 'Can delete user'),
    ('accounts.view_group', 'Can view group'),
    ('accounts.add_group', 'Can add group'),
    ('accounts.change_group', 'Can change group'),
    ('accounts.delete_group', 'Can delete group'),
    ('admin.view_logentry', 'Can view the audit log');

CREATE TABLE auth_groups (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL CONSTRAINT auth_groups_name_key UNIQUE
);
CREATE TABLE auth_group_permissions (
    group_id BIGINT NOT NULL REFERENCES auth_groups (id) ON DELETE CASCADE,
    codename TEXT   NOT NULL REFERENCES auth_permissions (codename) ON DELETE CASCADE,
    PRIMARY KEY (group_id, codename)
);
CREATE TABLE user_groups (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES auth_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group_id ON user_groups (group_id);
CREATE TABLE user_permissions (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    codename TEXT   NOT NULL REFERENCES auth_permissions (codename) ON DELETE CASCADE,
    PRIMARY KEY (user_id, codename)
);

-- Who did what to whom, from where: never updated or deleted (the triggers refuse), and not
-- tied to the users table, so an entry outlives the accounts it names.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor_id BIGINT,
    actor    TEXT   NOT NULL,
    action   TEXT   NOT NULL,
    target   TEXT   NOT NULL,
    address  TEXT   NOT NULL DEFAULT ''
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- What made cached sessions stale, written by the database itself, so a change made by the
-- CLI or by hand reaches every instance: 'u:<user id>' or 's:<session id>'. Each instance
-- reads the rows after the last one it saw, a few times a second; rows are swept after ten
-- minutes. A session ends by its revoked_at (deleted rows are the sweep's, long dead).
CREATE TABLE cache_changes (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    change TEXT   NOT NULL,
    at     BIGINT NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE INDEX cache_changes_at ON cache_changes (at);

CREATE TRIGGER users_changed
AFTER UPDATE OF username, email, first_name, last_name, is_active, email_verified, is_staff,
    is_superuser ON users
BEGIN INSERT INTO cache_changes (change) VALUES ('u:' || NEW.id); END;
CREATE TRIGGER users_deleted AFTER DELETE ON users
BEGIN INSERT INTO cache_changes (change) VALUES ('u:' || OLD.id); END;
CREATE TRIGGER sessions_revoked AFTER UPDATE OF revoked_at ON sessions
BEGIN INSERT INTO cache_changes (change) VALUES ('s:' || NEW.id); END;
