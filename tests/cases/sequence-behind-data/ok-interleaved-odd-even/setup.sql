-- Two writers share the events table: this node hands out odd ids, the other
-- node even ids, and its rows are replicated in. The even ids are far ahead of
-- this node's sequence, but it will never hand out one of them.
CREATE SEQUENCE odd_ids START 1 INCREMENT BY 2;
CREATE SEQUENCE even_ids START 2 INCREMENT BY 2;
CREATE TABLE events (id bigint PRIMARY KEY DEFAULT nextval('odd_ids'), payload text);
CREATE TABLE events_other_node (id bigint PRIMARY KEY DEFAULT nextval('even_ids'), payload text);
INSERT INTO events (payload) VALUES ('a'), ('b'), ('c');
INSERT INTO events_other_node (payload) SELECT 'x' FROM generate_series(1, 10);
INSERT INTO events (id, payload) SELECT id, payload FROM events_other_node;
