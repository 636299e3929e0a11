-- Invoice numbers come from nextval() in the application, five digits only:
-- 80,000 of 99,999 are used. No column uses the sequence; it is checked anyway.
CREATE SEQUENCE invoice_numbers AS integer MAXVALUE 99999;
SELECT setval('invoice_numbers', 80000);
