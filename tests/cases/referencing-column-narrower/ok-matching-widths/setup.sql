-- Foreign keys as wide as the keys they reference; and one narrower key that
-- references a key no sequence feeds (its values are chosen, not generated).
CREATE TABLE customers (id bigserial PRIMARY KEY);
CREATE TABLE products (id serial PRIMARY KEY);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers);
CREATE TABLE order_lines (order_id bigint REFERENCES orders, product_id integer REFERENCES products);
CREATE TABLE legacy_accounts (id bigint PRIMARY KEY);
CREATE TABLE notes (account_id integer REFERENCES legacy_accounts);
