-- New customer numbers follow the highest number ever issued (entity_resolution.io.allocate_ids)
-- instead of a sequence: a sequence is not rolled back, so a resolver killed after drawing
-- numbers gave the rerun's customers other IDs than an undisturbed run.
drop sequence if exists resolve.customer_number_seq;

comment on column resolve.customer_source_map.customer_id is
    'C + 9 digits: the next number after the highest ever issued (retired and forgotten IDs '
    'included); kept across runs (see customer_id_history).';
