-- The orders sequence has handed out two billion ids: 93% of what the integer
-- invoices.order_id can hold. The next two hundred million orders break invoicing.
CREATE TABLE orders (id bigserial PRIMARY KEY);
CREATE TABLE invoices (id bigserial PRIMARY KEY, order_id integer REFERENCES orders);
SELECT setval('orders_id_seq', 2000000000);
