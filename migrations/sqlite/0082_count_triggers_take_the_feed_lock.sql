-- PostgreSQL's 0082 makes its count triggers take the feed lock (keyed writers run beside
-- each other there). SQLite has one writer at a time: nothing to change; the version is
-- kept so both backends carry the same ones.
SELECT 1;
