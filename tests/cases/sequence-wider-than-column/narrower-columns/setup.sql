-- A smallint column fed by an integer sequence, and a descending bigint
-- sequence feeding an integer column.
CREATE SEQUENCE size_ids AS integer;
CREATE TABLE sizes (id smallint PRIMARY KEY DEFAULT nextval('size_ids'));
CREATE SEQUENCE refund_ids INCREMENT BY -1;
CREATE TABLE refunds (id integer PRIMARY KEY DEFAULT nextval('refund_ids'));
