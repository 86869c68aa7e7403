-- PostgreSQL's 0090 turns the flag columns into BOOLEAN. SQLite has no boolean type: they stay
-- INTEGER 0/1, which the SQL written for both (`WHERE visible`, `SET paused = TRUE`) reads
-- the same. The version is kept so both backends carry the same ones.
SELECT 1;
