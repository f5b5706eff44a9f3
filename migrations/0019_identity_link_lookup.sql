-- A person's label (workstream_actor_label, migration 0013) falls back to the subject of
-- their sign-in link, active or not, which the partial index on active links cannot
-- find: every label read walked all links, a cost that grew with the people of the
-- deployment (the benchmark's history part saw it in a task's audit trail). A person
-- has a few links; one index on the profile finds them.
CREATE INDEX actor_identity_links_profile_idx ON actor_identity_links (actor_profile_id);
