-- An integer id fed by a bigint sequence, as made before PostgreSQL 10: the
-- column, not the sequence, runs out, at 2,147,483,647.
CREATE TABLE things (id integer NOT NULL PRIMARY KEY, active boolean);
CREATE SEQUENCE things_id_seq OWNED BY things.id;
ALTER TABLE things ALTER COLUMN id SET DEFAULT nextval('things_id_seq');
SELECT setval('things_id_seq', 2000000000);
