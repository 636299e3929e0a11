-- A partitioned events table references customers through an integer column:
-- PostgreSQL clones the foreign key into each partition; it is reported once.
CREATE TABLE customers (id bigserial PRIMARY KEY);
CREATE TABLE events (customer_id integer NOT NULL REFERENCES customers, region text NOT NULL)
    PARTITION BY LIST (region);
CREATE TABLE events_eu PARTITION OF events FOR VALUES IN ('eu');
CREATE TABLE events_us PARTITION OF events FOR VALUES IN ('us');
