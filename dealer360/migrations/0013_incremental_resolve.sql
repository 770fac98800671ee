-- Incremental resolve (entity_resolution/pipeline.py): each record's identity as the last
-- run matched it, hashed over the matcher's identity columns, so the next run can tell new
-- and changed records from the rest without reading them back. Null until a run writes
-- it; a record with a null hash counts as changed.
alter table resolve.customer_source_map add column if not exists identity_hash bigint;
