-- What the online widening needs to know of each table of a key family: its
-- kind, whether seqdoctor may change it, its size, the key its backfill can
-- walk, and whether logical replication is involved. Minimum server version: 12.
--
-- batch_key: a single-column integer (int2/int4/int8) key the backfill can walk
-- in ranges: NOT NULL, with a valid, unique, non-partial btree index on that
-- column alone (the primary key, usually). Without one the backfill walks
-- ctid ranges (TID range scans need PostgreSQL 14).
-- columns: attributes including dropped ones, against the limit of 1600.
-- row_type_users: columns of other tables whose type is this table's row type
-- (or an array of it): ADD COLUMN ... DEFAULT is refused, and the swap would
-- change what their stored values mean.
-- published: the table is in a publication (explicitly, through its schema
-- on 15+, or FOR ALL TABLES); subscribed: it is a subscription's target.
SELECT
    c.oid::int8 AS table_oid,
    n.nspname AS schema,
    c.relname AS table,
    c.relkind::text AS relkind,
    c.relpersistence::text AS persistence,
    c.relispartition AS partition,
    EXISTS (SELECT FROM pg_catalog.pg_inherits AS i WHERE i.inhrelid = c.oid)
        OR EXISTS (SELECT FROM pg_catalog.pg_inherits AS i WHERE i.inhparent = c.oid)
        AS inheritance,
    pg_catalog.pg_has_role(c.relowner, 'USAGE') AS owned,
    pg_catalog.has_schema_privilege(n.oid, 'CREATE') AS can_create,
    pg_catalog.pg_total_relation_size(c.oid) AS bytes,
    greatest(c.reltuples, 0)::int8 AS rows_estimate,
    (SELECT max(a.attnum)::int FROM pg_catalog.pg_attribute AS a
     WHERE a.attrelid = c.oid) AS columns,
    c.relreplident::text AS replica_identity,
    (
        SELECT a.attname
        FROM pg_catalog.pg_index AS i
        JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
        JOIN pg_catalog.pg_am AS am ON am.oid = ic.relam
        JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
        JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
        WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indnatts = 1
          AND i.indkey[0] > 0 AND i.indpred IS NULL AND am.amname = 'btree'
          AND a.attnotnull AND t.typname IN ('int2', 'int4', 'int8')
        ORDER BY i.indisprimary DESC, a.attnum
        LIMIT 1
    ) AS batch_key,
    (
        SELECT a.attnum::int
        FROM pg_catalog.pg_index AS i
        JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
        JOIN pg_catalog.pg_am AS am ON am.oid = ic.relam
        JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
        JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
        WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indnatts = 1
          AND i.indkey[0] > 0 AND i.indpred IS NULL AND am.amname = 'btree'
          AND a.attnotnull AND t.typname IN ('int2', 'int4', 'int8')
        ORDER BY i.indisprimary DESC, a.attnum
        LIMIT 1
    ) AS batch_attnum,
    (
        SELECT pg_catalog.array_agg(p.pubname::text ORDER BY p.pubname)
        FROM pg_catalog.pg_publication AS p
        WHERE p.puballtables
           OR EXISTS (SELECT FROM pg_catalog.pg_publication_rel AS pr
                      WHERE pr.prpubid = p.oid AND pr.prrelid = c.oid)
           OR EXISTS (SELECT FROM pg_catalog.pg_publication_namespace AS pn
                      WHERE pn.pnpubid = p.oid AND pn.pnnspid = c.relnamespace)
    ) AS publications,
    EXISTS (SELECT FROM pg_catalog.pg_subscription_rel AS sr WHERE sr.srrelid = c.oid)
        AS subscribed,
    (
        SELECT pg_catalog.array_agg(a.attrelid::regclass::text || '.' || a.attname::text
                                    ORDER BY 1)
        FROM pg_catalog.pg_attribute AS a
        JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
        WHERE NOT a.attisdropped AND (t.oid = c.reltype OR t.typelem = c.reltype)
    ) AS row_type_users
FROM unnest(%(tables)s::oid[]) AS s(table_oid)
JOIN pg_catalog.pg_class AS c ON c.oid = s.table_oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
ORDER BY n.nspname, c.relname
