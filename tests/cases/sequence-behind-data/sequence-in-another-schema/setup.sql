-- Order numbers come from a sequence kept in a schema of its own, while the
-- orders live in the shop schema; the orders were imported with their numbers.
CREATE SCHEMA numbering;
CREATE SCHEMA shop;
CREATE SEQUENCE numbering.order_numbers;
CREATE TABLE shop.orders (number bigint PRIMARY KEY DEFAULT nextval('numbering.order_numbers'));
INSERT INTO shop.orders (number) SELECT g FROM generate_series(1, 10) AS g;
