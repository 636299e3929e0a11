-- Refunds count down from -1 (INCREMENT BY -1). Two refunds were made, then
-- refunds -5 and -6 were copied in from the payment provider's export.
CREATE SEQUENCE refund_ids INCREMENT BY -1;
CREATE TABLE refunds (id bigint PRIMARY KEY DEFAULT nextval('refund_ids'), amount numeric);
INSERT INTO refunds (amount) VALUES (10), (20);
INSERT INTO refunds (id, amount) VALUES (-5, 30), (-6, 40);
