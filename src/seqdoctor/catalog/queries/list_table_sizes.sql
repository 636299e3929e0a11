-- The size on disk of tables a repair would rewrite, with their partitions and
-- inheritance children (ALTER TABLE ... TYPE rewrites those too).
-- Minimum server version: 10.
--
-- pg_total_relation_size() counts the heap, its indexes and its TOAST table:
-- everything ALTER COLUMN TYPE writes again. It takes an ACCESS SHARE lock on
-- each relation, so the caller bounds the wait with lock_timeout. A partitioned
-- table has no storage of its own: its size is that of its partitions, found
-- through pg_inherits, which records partitions and inheritance children alike.
WITH RECURSIVE tree AS (
    SELECT t.oid AS root, t.oid AS relid
    FROM unnest(%(oids)s::oid[]) AS t(oid)
    UNION ALL
    SELECT tree.root, i.inhrelid
    FROM tree
    JOIN pg_catalog.pg_inherits AS i ON i.inhparent = tree.relid
)
SELECT
    tree.root::int8 AS table_oid,
    coalesce(sum(pg_catalog.pg_total_relation_size(tree.relid)), 0)::int8 AS bytes
FROM tree
GROUP BY tree.root
