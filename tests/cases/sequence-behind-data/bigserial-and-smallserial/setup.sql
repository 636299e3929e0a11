-- Two tables restored with pg_dump --data-only into a schema whose sequences
-- were never set: a bigserial and a smallserial.
CREATE TABLE events (id bigserial PRIMARY KEY, kind text);
CREATE TABLE sizes (id smallserial PRIMARY KEY, label text);
INSERT INTO events (id, kind) VALUES (1, 'signup'), (2, 'login'), (3, 'logout');
INSERT INTO sizes (id, label) VALUES (2, 'M'), (3, 'L');
