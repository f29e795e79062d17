-- Counters for throttling, shared by every instance: failed log-ins per account and per client
-- address, and rate limits on registration, refresh and password change. `bucket` names what is
-- counted (subjects that a person typed are stored only as hashes).
CREATE TABLE throttles (
    bucket        TEXT   PRIMARY KEY,
    hits          BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX throttles_window_start ON throttles (window_start);
