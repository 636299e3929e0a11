-- Measurements partitioned by region: one row inserted through the parent,
-- then rows loaded straight into the partitions with their ids. The partitions
-- share the parent's sequence: one finding, on the parent.
CREATE TABLE measurements (id bigserial, region text NOT NULL, value float8,
                           PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu');
CREATE TABLE measurements_us PARTITION OF measurements FOR VALUES IN ('us');
INSERT INTO measurements (region, value) VALUES ('eu', 1.5);
INSERT INTO measurements_us (id, region, value) VALUES (3, 'us', 2.5);
INSERT INTO measurements_eu (id, region, value) VALUES (5, 'eu', 3.5);
