-- A sequence the application calls nextval() on, one nobody ever called, and
-- the sequence of a serial whose default a migration dropped.
CREATE SEQUENCE receipt_numbers;
SELECT nextval('receipt_numbers'), nextval('receipt_numbers');
CREATE SEQUENCE batch_ids;
CREATE TABLE things (id serial PRIMARY KEY);
INSERT INTO things SELECT FROM generate_series(1, 3);
ALTER TABLE things ALTER COLUMN id DROP DEFAULT;
