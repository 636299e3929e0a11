-- Credit notes count down from -1 and have used two billion negative ids:
-- the integer column runs out at -2,147,483,648.
CREATE SEQUENCE credit_ids AS integer INCREMENT BY -1;
CREATE TABLE credits (id integer PRIMARY KEY DEFAULT nextval('credit_ids'), amount numeric);
SELECT setval('credit_ids', -2000000000);
