-- One row per tracked event on the shop's website; the hidden database has the same schema.
CREATE TABLE events (
    event_id   BIGINT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    event_at   TIMESTAMP NOT NULL,
    event_type VARCHAR NOT NULL,
    page       VARCHAR NOT NULL
);
