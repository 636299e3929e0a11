-- A fresh serial, and a cycling sequence at its MAXVALUE: it wraps around
-- instead of failing, so it is not near a limit.
CREATE TABLE orders (id serial PRIMARY KEY);
INSERT INTO orders DEFAULT VALUES;
CREATE SEQUENCE wheel MAXVALUE 10 CYCLE;
SELECT setval('wheel', 10);
