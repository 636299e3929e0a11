-- serial, bigserial and smallserial columns, and a serial as an old pg_dump
-- wrote it (a sequence OWNED BY the column and a DEFAULT nextval()).
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) VALUES ('Ada'), ('Brian');
CREATE TABLE events (id bigserial PRIMARY KEY);
CREATE TABLE tags (id smallserial PRIMARY KEY);
CREATE TABLE things (id integer NOT NULL PRIMARY KEY);
CREATE SEQUENCE things_id_seq OWNED BY things.id;
ALTER TABLE things ALTER COLUMN id SET DEFAULT nextval('things_id_seq'::regclass);
