-- Indexed, readable columns; and a column with no index at all, which is
-- SEQ008's finding (drift not checked), not an unknown.
CREATE TABLE orders (id serial PRIMARY KEY);
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE TABLE audit_log (id bigserial, entry text);
