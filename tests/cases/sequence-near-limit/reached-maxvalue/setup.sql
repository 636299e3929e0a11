-- Someone set MAXVALUE 10 on the things sequence and ten things were created:
-- the next insert fails with "nextval: reached maximum value".
CREATE TABLE things (id serial PRIMARY KEY, active boolean);
ALTER SEQUENCE things_id_seq MAXVALUE 10;
INSERT INTO things (active) SELECT true FROM generate_series(1, 10);
