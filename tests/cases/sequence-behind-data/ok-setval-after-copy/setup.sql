-- Users were copied from the legacy database with their ids, and the migration
-- script then moved the sequence past them, as it should.
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO users (id, name) VALUES (1, 'Jack'), (2, 'Rose'), (4, 'Hook');
SELECT setval('users_id_seq', max(id)) FROM users;
INSERT INTO users (name) VALUES ('Robinhood');
