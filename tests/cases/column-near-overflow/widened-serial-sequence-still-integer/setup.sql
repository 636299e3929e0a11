-- The team widened the serial column to bigint in time, but its sequence is
-- still AS integer and stops at 2,147,483,647 all the same.
CREATE TABLE orders (id serial PRIMARY KEY, total numeric);
ALTER TABLE orders ALTER COLUMN id TYPE bigint;
SELECT setval('orders_id_seq', 2100000000);
