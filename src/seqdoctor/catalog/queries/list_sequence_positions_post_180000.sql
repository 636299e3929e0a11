-- The positions of many sequences in one statement.
-- Minimum server version: 18 (pg_get_sequence_data).
--
-- pg_get_sequence_data() returns NULLs instead of raising when the role lacks
-- privilege or the sequence was dropped since the inventory; the caller only
-- passes sequences it may read, so NULLs here mean "gone".
SELECT
    s.oid::int8 AS oid,
    d.last_value,
    d.is_called
FROM unnest(%(oids)s::oid[]) AS s(oid)
CROSS JOIN LATERAL pg_catalog.pg_get_sequence_data(s.oid::regclass) AS d
