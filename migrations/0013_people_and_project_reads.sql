-- People by name, and the project-level audit read.

-- A person's display name is theirs to set (PATCH /actors/me); a first access no longer
-- copies the token's subject into it, so it may be empty until they do.
ALTER TABLE actor_profiles DROP CONSTRAINT actor_profiles_display_name_length;
ALTER TABLE actor_profiles ADD CONSTRAINT actor_profiles_display_name_length
    CHECK (char_length(display_name) <= 200);

-- How every read, page and export names a person: their display name, else the subject
-- of their identity link (an active one first, the newest), else a service's identity.
-- One definition, so no list shows an id fragment where another shows a name.
CREATE FUNCTION workstream_actor_label(actor uuid) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        nullif(btrim(p.display_name), ''),
        (SELECT l.subject FROM actor_identity_links l
          WHERE l.actor_profile_id = p.id
          ORDER BY (l.status = 'active') DESC, l.linked_at DESC, l.id LIMIT 1),
        p.service_identity,
        p.id::text)
    FROM actor_profiles p WHERE p.id = actor
$$;

-- GET /projects/{id}/audit-events pages a project's events in time order, the cursor
-- being the last event: (occurred_at, id) makes the order total and the page one index
-- range. It replaces the (project_id, occurred_at) index, which no read used.
DROP INDEX audit_events_project_idx;
CREATE INDEX audit_events_project_idx ON audit_events (project_id, occurred_at, id);
