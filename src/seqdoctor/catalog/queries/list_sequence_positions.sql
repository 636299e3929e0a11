-- The positions of many sequences in one statement, before PostgreSQL 18.
-- Minimum server version: 10 (pg_sequence_last_value).
--
-- pg_sequence_last_value() returns last_value once the sequence has handed it
-- out (is_called), and NULL while it has not: then last_value is the next value
-- to hand out, which only the sequence relation itself tells; read.py reads
-- those with SELECT last_value, is_called, one statement a relation sent in one
-- message. It is several times cheaper than those statements, which plan each.
-- It raises without privilege: the caller passes only sequences it may read.
SELECT
    s.oid::int8 AS oid,
    p.last_value,
    p.last_value IS NOT NULL AS is_called
FROM unnest(%(oids)s::oid[]) AS s(oid)
CROSS JOIN LATERAL (
    SELECT pg_catalog.pg_sequence_last_value(s.oid::regclass) AS last_value
) AS p
