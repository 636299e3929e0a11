-- Every sequence feeds a column: a serial, an identity, a sequence in its own
-- schema used by a DEFAULT, and one sequence shared by two tables.
CREATE TABLE orders (id serial PRIMARY KEY);
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE SCHEMA numbering;
CREATE SEQUENCE numbering.invoice_numbers;
CREATE TABLE invoices (no bigint PRIMARY KEY DEFAULT nextval('numbering.invoice_numbers'));
CREATE SEQUENCE party_ids;
CREATE TABLE customers (id bigint PRIMARY KEY DEFAULT nextval('party_ids'));
CREATE TABLE suppliers (id bigint PRIMARY KEY DEFAULT nextval('party_ids'));
