-- Who and where we are: shown in every report.
-- Minimum server version: 10.
SELECT
    current_database() AS database,
    current_setting('server_version') AS server_version,
    current_setting('server_version_num')::int AS server_version_num,
    current_user AS current_user
