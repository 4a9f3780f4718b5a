-- The product's users and what they did; the hidden database has the same schema.
CREATE TABLE users (
    user_id    INTEGER PRIMARY KEY,
    signup_at  TIMESTAMP NOT NULL,
    country    VARCHAR NOT NULL,
    plan       VARCHAR NOT NULL
);

CREATE TABLE events (
    event_id   BIGINT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    event_at   TIMESTAMP NOT NULL,
    event_type VARCHAR NOT NULL
);
