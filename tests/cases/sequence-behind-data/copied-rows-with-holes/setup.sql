-- Users copied from a legacy database with their ids; ids 1, 2, 5 and 6 were
-- deleted there. The sequence still starts at 1: two inserts land in holes,
-- the third collides with Jack.
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO users (id, name) VALUES (3, 'Jack'), (4, 'Rose'), (7, 'Hook');
