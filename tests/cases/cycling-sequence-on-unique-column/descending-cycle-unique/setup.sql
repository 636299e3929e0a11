-- A descending sequence that cycles between -1 and -10 feeds a unique column.
CREATE SEQUENCE countdown INCREMENT BY -1 MINVALUE -10 MAXVALUE -1 CYCLE;
CREATE TABLE launches (n integer UNIQUE DEFAULT nextval('countdown'), name text);
