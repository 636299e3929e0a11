-- Every sequence-fed column is unique on its own: a primary key, a unique
-- constraint, a unique index, and a partitioned table whose primary key also
-- holds the partition key (PostgreSQL requires it).
CREATE TABLE orders (id serial PRIMARY KEY);
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY UNIQUE);
CREATE TABLE tags (id smallserial);
CREATE UNIQUE INDEX tags_id_key ON tags (id);
CREATE TABLE measurements (id bigserial, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu');
