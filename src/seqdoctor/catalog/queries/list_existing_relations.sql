-- Which of the given relations still exist.
-- Minimum server version: 10.
--
-- Asked at the end of an audit about the sequences that feed no column: a
-- table dropped during the audit takes its serial's sequence with it, which,
-- listed before the drop, would otherwise look unused.
SELECT c.oid::int8 AS oid
FROM pg_catalog.pg_class AS c
WHERE c.oid = ANY (%(oids)s::oid[])
