-- A young table: a serial id with a handful of rows.
CREATE TABLE orders (id serial PRIMARY KEY, total numeric);
INSERT INTO orders (total) VALUES (10), (20), (30);
