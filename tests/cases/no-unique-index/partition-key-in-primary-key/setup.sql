-- A partitioned table's primary key must hold the partition key: (id, region)
-- and pagila's (payment_date, payment_id) take the same id twice, once per
-- region or date. Unique only together with it, the id is not unique.
CREATE TABLE measurements (id bigserial, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu');
CREATE TABLE payment (payment_id serial, payment_date timestamptz NOT NULL,
                      PRIMARY KEY (payment_date, payment_id)) PARTITION BY RANGE (payment_date);
CREATE TABLE payment_p2022_01 PARTITION OF payment
    FOR VALUES FROM ('2022-01-01 00:00+00') TO ('2022-02-01 00:00+00');
-- Not partitioned, unique per tenant only.
CREATE TABLE notes (tenant int, id serial, UNIQUE (tenant, id));
