-- An identity column on a partitioned table. Since PostgreSQL 17 partitions
-- share the parent's identity, so rows inserted straight into a partition take
-- ids from the parent's sequence (before 17 that insert fails: id is NULL).
-- Then a row was copied into a partition with its id.
CREATE TABLE measurements (id bigint GENERATED ALWAYS AS IDENTITY, region text NOT NULL,
                           PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu');
CREATE TABLE measurements_us PARTITION OF measurements FOR VALUES IN ('us');
INSERT INTO measurements (region) VALUES ('eu');
INSERT INTO measurements_us (region) VALUES ('us');
INSERT INTO measurements_eu (id, region) OVERRIDING SYSTEM VALUE VALUES (5, 'eu');
