-- An identity column GENERATED ALWAYS: five orders taken by the application,
-- then five more imported from the old shop with OVERRIDING SYSTEM VALUE.
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, total numeric NOT NULL);
INSERT INTO orders (total) SELECT 10 * g FROM generate_series(1, 5) AS g;
INSERT INTO orders (id, total) OVERRIDING SYSTEM VALUE
SELECT g, 10 * g FROM generate_series(6, 10) AS g;
