-- Ids without a unique index: a plain index, no index at all, a unique index
-- that is partial, and a unique constraint over two columns.
CREATE TABLE events (id serial, kind text);
CREATE INDEX events_id_idx ON events (id);
CREATE TABLE audit_log (id bigserial, entry text);
CREATE TABLE tasks (id serial, archived boolean NOT NULL DEFAULT false);
CREATE UNIQUE INDEX tasks_active_id_key ON tasks (id) WHERE NOT archived;
CREATE TABLE tenant_docs (id serial, tenant_id integer NOT NULL, UNIQUE (id, tenant_id));
