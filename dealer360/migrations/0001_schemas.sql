-- The three schemas of the output contract; their tables arrive in later migrations.
create schema if not exists raw;
create schema if not exists resolve;
create schema if not exists marts;
create extension if not exists pg_trgm;
create extension if not exists unaccent;
create extension if not exists fuzzystrmatch;
