-- One sequence hands out ids to customers and suppliers. Suppliers 4 and 5
-- were imported with their ids: only suppliers is behind, not customers.
CREATE SEQUENCE party_ids;
CREATE TABLE customers (id bigint PRIMARY KEY DEFAULT nextval('party_ids'), name text);
CREATE TABLE suppliers (id bigint PRIMARY KEY DEFAULT nextval('party_ids'), name text);
INSERT INTO customers (name) VALUES ('Ada'), ('Brian');
INSERT INTO suppliers (name) VALUES ('Acme');
INSERT INTO suppliers (id, name) VALUES (4, 'Globex'), (5, 'Initech');
