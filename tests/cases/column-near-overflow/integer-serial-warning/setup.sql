-- A busy integer serial column has handed out 1.7 billion ids: 79% of integer.
CREATE TABLE orders (id serial PRIMARY KEY, total numeric);
SELECT setval('orders_id_seq', 1700000000);
