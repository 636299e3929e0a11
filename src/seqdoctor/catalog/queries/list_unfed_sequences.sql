-- Which of the given sequences still exist and still feed no column.
-- Minimum server version: 10.
--
-- Asked at the end of an audit about the sequences that fed no column in the
-- inventory. The sequences and the columns are listed at the same time, on two
-- connections, each in its own snapshot: meanwhile a dropped table may have
-- taken its serial's sequence with it, and a new column may have begun to take
-- values from a listed sequence. Neither is reported as unused.
--
-- "Feeds" as list_column_uses.sql has it: a sequence an identity column owns,
-- or one whose nextval() a column default calls, in a table of a user schema.
SELECT s.oid::int8 AS oid
FROM unnest(%(oids)s::oid[]) AS s(oid)
WHERE EXISTS (SELECT FROM pg_catalog.pg_sequence AS q WHERE q.seqrelid = s.oid)
  AND NOT EXISTS (
      -- an identity column's: the sequence depends on the column
      SELECT
      FROM pg_catalog.pg_depend AS d
      JOIN pg_catalog.pg_class AS c ON c.oid = d.refobjid
      JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
      WHERE d.classid = 'pg_catalog.pg_class'::regclass
        AND d.objid = s.oid
        AND d.refclassid = 'pg_catalog.pg_class'::regclass
        AND d.refobjsubid > 0
        AND d.deptype = 'i'
        AND c.relkind IN ('r', 'p', 'f')
        AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  )
  AND NOT EXISTS (
      -- a default's: the default depends on the sequence and calls nextval()
      SELECT
      FROM pg_catalog.pg_depend AS d
      JOIN pg_catalog.pg_attrdef AS ad ON ad.oid = d.objid
      JOIN pg_catalog.pg_class AS c ON c.oid = ad.adrelid
      JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
      WHERE d.refclassid = 'pg_catalog.pg_class'::regclass
        AND d.refobjid = s.oid
        AND d.classid = 'pg_catalog.pg_attrdef'::regclass
        AND d.deptype = 'n'
        AND ad.adbin::text LIKE
            '%%:funcid ' || 'pg_catalog.nextval(pg_catalog.regclass)'::regprocedure::oid || ' %%'
        AND c.relkind IN ('r', 'p', 'f')
        AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  )
