-- Ticket numbers come from a sequence no column owns, through a plain
-- DEFAULT nextval(); the first numbers were imported from a spreadsheet.
CREATE SEQUENCE ticket_numbers START 1000;
CREATE TABLE tickets (no integer PRIMARY KEY DEFAULT nextval('ticket_numbers'), subject text);
INSERT INTO tickets (no, subject) VALUES (1000, 'printer'), (1001, 'vpn'), (1002, 'mail');
