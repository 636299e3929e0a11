-- Sequences as wide as their columns: serial (AS integer), smallserial,
-- a bigint identity, and a bigint sequence on a bigint column.
CREATE TABLE orders (id serial PRIMARY KEY);
CREATE TABLE tags (id smallserial PRIMARY KEY);
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE SEQUENCE party_ids;
CREATE TABLE parties (id bigint PRIMARY KEY DEFAULT nextval('party_ids'));
