-- A smallserial lookup table that grew: 30,000 of 32,767 ids used.
CREATE TABLE tags (id smallserial PRIMARY KEY, label text);
SELECT setval('tags_id_seq', 30000);
