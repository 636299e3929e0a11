-- A team that wants to hear early audits with --warning 50 --critical 60:
-- 56% of integer used is a warning for them.
CREATE TABLE orders (id serial PRIMARY KEY, total numeric);
SELECT setval('orders_id_seq', 1200000000);
