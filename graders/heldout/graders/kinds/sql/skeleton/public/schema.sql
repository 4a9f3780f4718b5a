CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer VARCHAR NOT NULL,
    amount   DOUBLE NOT NULL,
    refunded BOOLEAN NOT NULL
);
