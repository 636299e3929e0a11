-- A countdown sequence from -1 to -100 has reached -95.
CREATE SEQUENCE countdown INCREMENT BY -1 MINVALUE -100 MAXVALUE -1;
SELECT setval('countdown', -95);
