-- A free-text name's given name and surname as typed, as the resolver split it (the
-- first_name / last_name beside them are folded for matching). dbt's staging of repair
-- orders reads them instead of splitting `LAST, FIRST` a second time; null for records
-- whose names came in name fields.
alter table resolve.standardized_records
    add column if not exists first_name_display text,
    add column if not exists last_name_display text;
