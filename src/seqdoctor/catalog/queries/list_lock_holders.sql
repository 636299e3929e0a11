-- Sessions holding a lock on some tables (other than this one): whom a swap
-- that could not get its locks was waiting for, to name them in its message.
-- Sessions of other roles show no state without pg_read_all_stats: NULL then.
-- Minimum server version: 12.
SELECT DISTINCT a.pid, a.state, a.application_name,
       (EXTRACT(epoch FROM pg_catalog.now() OPERATOR(pg_catalog.-) a.xact_start))::float8
           AS seconds
FROM pg_catalog.pg_locks AS l
JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
WHERE l.granted AND l.relation = ANY (%(tables)s::oid[])
  AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
ORDER BY a.pid
