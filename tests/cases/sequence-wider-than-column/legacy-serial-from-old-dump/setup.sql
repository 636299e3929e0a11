-- A serial column as pg_dump wrote it before PostgreSQL 10: the sequence is
-- bigint, the column integer.
CREATE TABLE things (id integer NOT NULL, active boolean);
CREATE SEQUENCE things_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
ALTER SEQUENCE things_id_seq OWNED BY things.id;
ALTER TABLE ONLY things ALTER COLUMN id SET DEFAULT nextval('things_id_seq'::regclass);
ALTER TABLE ONLY things ADD CONSTRAINT things_pkey PRIMARY KEY (id);
