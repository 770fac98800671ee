-- Reviewers teach the model (entity_resolution/learning.py): each queued pair's comparison
-- pattern (its level on every comparison), the probability of a match the classifier learnt
-- from people's verdicts gives it (null until there are enough verdicts of both kinds), and
-- how much a verdict on it would teach: the review page asks the highest first.
alter table resolve.review_queue add column if not exists evidence_pattern text;
alter table resolve.review_queue add column if not exists learnt_probability double precision;
alter table resolve.review_queue add column if not exists review_priority double precision;
