-- Trucks inherit from vehicles (table inheritance) and so share the parent's
-- id default. Trucks were imported with ids 10 and 11: the child is behind,
-- the parent (judged with ONLY) is not.
CREATE TABLE vehicles (id serial PRIMARY KEY, name text);
CREATE TABLE trucks (payload_kg integer) INHERITS (vehicles);
ALTER TABLE trucks ADD PRIMARY KEY (id);
INSERT INTO vehicles (name) VALUES ('bike'), ('car');
INSERT INTO trucks (id, name, payload_kg) VALUES (10, 'van', 1200), (11, 'lorry', 18000);
