-- Who and where we are: shown in every report.
-- Minimum server version: 10.
--
-- in_recovery: a hot standby, whose sequences are read as replayed from the
-- primary's WAL, up to 32 nextval() calls ahead of the primary's.
SELECT
    current_database() AS database,
    current_setting('server_version') AS server_version,
    current_setting('server_version_num')::int AS server_version_num,
    current_user AS current_user,
    pg_catalog.pg_is_in_recovery() AS in_recovery
