-- The shop's users and their funnel events; the hidden database has the same schema.
-- users has no primary key: the export duplicated some rows.
CREATE TABLE users (
    user_id    INTEGER NOT NULL,
    signup_at  TIMESTAMP NOT NULL,
    channel    VARCHAR NOT NULL
);

CREATE TABLE events (
    event_id   BIGINT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    event_at   TIMESTAMP NOT NULL,
    step       VARCHAR NOT NULL
);
