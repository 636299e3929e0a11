-- A hit counter written by upsert: every attempt draws an id, even those that
-- find their page already there. 20,100 values for 100 rows.
CREATE TABLE page_hits (id bigserial PRIMARY KEY, page text NOT NULL UNIQUE);
INSERT INTO page_hits (page) SELECT 'page ' || g FROM generate_series(1, 100) AS g;
INSERT INTO page_hits (page)
SELECT 'page ' || (g % 100 + 1) FROM generate_series(1, 20000) AS g
ON CONFLICT (page) DO NOTHING;
ANALYZE page_hits;
