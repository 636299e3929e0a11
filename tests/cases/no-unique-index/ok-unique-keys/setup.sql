-- Every sequence-fed column is unique on its own: a primary key, a unique
-- constraint, a unique index, and a partitioned table partitioned by the id.
CREATE TABLE orders (id serial PRIMARY KEY);
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY UNIQUE);
CREATE TABLE tags (id smallserial);
CREATE UNIQUE INDEX tags_id_key ON tags (id);
CREATE TABLE readings (id bigserial PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE readings_1 PARTITION OF readings FOR VALUES FROM (1) TO (1000000);
