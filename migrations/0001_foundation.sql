-- 0001_foundation.sql
--
-- Workstream schema, part 1 of 5: shared trigger functions, actors and authority,
-- projects, the hash-chained audit log, idempotency records and the durable job queue.
--
-- Conventions used by every migration (see also the report in the PR):
--   * ids are uuid, minted by the application as UUIDv7; no DEFAULT.
--   * enumerations are lowercase text tokens guarded by a named CHECK.
--   * digests are text 'sha256:<64 lowercase hex>' guarded by a named CHECK.
--   * every constraint and unique index has an explicit name: the API maps
--     constraint names to client errors, so names are part of the contract.
--   * spec references: R<n>, T<n> and AS<n> are the rule, transition and scenario ids of
--     docs/rules.md and docs/lifecycle.md; sections are cited as docs/<file>, "<heading>".
--
-- Error codes raised by triggers (SQLSTATE, recognise them by code, then by the
-- CONSTRAINT and TABLE fields of the error, which every trigger fills in):
--   WS001  immutable_record     UPDATE/DELETE/TRUNCATE of an append-only row, or a change
--                                to a frozen column of an [I*] row (guide once active,
--                                published contribution policy version, finished checker
--                                run, ...). CONSTRAINT = name of the trigger that refused.
--                                Custom class "WS" (Workstream) so it can never be confused
--                                with a PostgreSQL error. API: 409 immutable_record.
--   WS002  invalid_transition   a lifecycle column moved along an edge that the state
--                                machine lacks (docs/lifecycle.md, "The database backstop").
--                                CONSTRAINT = '<table>_status_transition'. API: 409.
--   23514  check_violation       cross-row invariants that a CHECK cannot express
--                                (contributor must be human, no self-review, ...).
--                                Raised with CONSTRAINT = a name like the ones of real CHECK
--                                constraints, so the API maps them the same way.

-- ---------------------------------------------------------------------------------------
-- Shared trigger functions
-- ---------------------------------------------------------------------------------------

-- The one function attached to every append-only ([I]) table, both as a row trigger
-- (BEFORE UPDATE OR DELETE) and as a statement trigger (BEFORE TRUNCATE). R3: append-only
-- records are enforced by the database itself (docs/security.md, "Immutability in the database").
CREATE FUNCTION workstream_raise_immutable(tbl text, trigger_name text, op text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE    = 'WS001',
        MESSAGE    = format('%s is append-only: %s rejected', tbl, op),
        HINT       = 'Append a new record instead of changing or removing this one.',
        TABLE      = tbl,
        CONSTRAINT = trigger_name;
END;
$$;

CREATE FUNCTION workstream_reject_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION workstream_reject_mutation() IS
    'Rejects UPDATE/DELETE/TRUNCATE on append-only tables with SQLSTATE WS001.';

-- Attaches workstream_reject_mutation() to a table: '<table>_append_only' (row level,
-- BEFORE UPDATE OR DELETE) and '<table>_no_truncate' (statement level, BEFORE TRUNCATE).
CREATE FUNCTION workstream_make_append_only(target regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    tbl text := (SELECT relname FROM pg_class WHERE oid = target);
BEGIN
    EXECUTE format(
        'CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %s
             FOR EACH ROW EXECUTE FUNCTION workstream_reject_mutation()',
        tbl || '_append_only', target);
    EXECUTE format(
        'CREATE TRIGGER %I BEFORE TRUNCATE ON %s
             FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation()',
        tbl || '_no_truncate', target);
END;
$$;

-- Names of the columns whose values differ between two row images (to_jsonb(OLD/NEW)).
-- Used by the [I*] triggers to allow only their close-out columns to change.
CREATE FUNCTION workstream_changed_columns(old_row jsonb, new_row jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(n.key ORDER BY n.key), '{}')
    FROM jsonb_each(new_row) AS n
    WHERE n.value IS DISTINCT FROM old_row -> n.key
$$;

-- Raises WS001 if any column outside `allowed` changed between OLD and NEW.
CREATE FUNCTION workstream_assert_only_changed(
    tbl text, trigger_name text, old_row jsonb, new_row jsonb, allowed text[], why text
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    forbidden text[];
BEGIN
    SELECT coalesce(array_agg(c), '{}') INTO forbidden
    FROM unnest(workstream_changed_columns(old_row, new_row)) AS c
    WHERE c <> ALL (allowed);
    IF cardinality(forbidden) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE    = 'WS001',
            MESSAGE    = format('%s: %s; column(s) %s may not change', tbl, why,
                                array_to_string(forbidden, ', ')),
            TABLE      = tbl,
            CONSTRAINT = trigger_name;
    END IF;
END;
$$;

-- Raises WS002 for a lifecycle edge that the state machine does not have.
CREATE FUNCTION workstream_reject_transition(tbl text, from_status text, to_status text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE    = 'WS002',
        MESSAGE    = format('%s: transition %s -> %s is not allowed', tbl, from_status, to_status),
        TABLE      = tbl,
        CONSTRAINT = tbl || '_status_transition';
END;
$$;

-- Raises 23514 (check_violation) for a cross-row invariant, named like a CHECK constraint.
CREATE FUNCTION workstream_reject_invalid(tbl text, constraint_name text, message text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE    = 'check_violation',
        MESSAGE    = format('%s: %s', tbl, message),
        TABLE      = tbl,
        CONSTRAINT = constraint_name;
END;
$$;

-- Keeps updated_at honest on mutable tables.
CREATE FUNCTION workstream_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- ---------------------------------------------------------------------------------------
-- Actors (docs/lifecycle.md, "Actor, identity link and grant")
-- ---------------------------------------------------------------------------------------

-- The only actor root. Every human lifecycle field (submitter, reviewer, ...) points here.
-- Status is a guard, never a role. `deactivated` is terminal; kind never changes; rows are
-- never deleted (they are referenced by immutable history).
CREATE TABLE actor_profiles (
    id                  uuid PRIMARY KEY,
    kind                text NOT NULL,
    status              text NOT NULL DEFAULT 'active',
    display_name        text NOT NULL,
    contact_email       text,
    -- Fixed identity of a pre-provisioned service principal (e.g. the local payment
    -- adapter); null for humans.
    service_identity    text,
    created_by          uuid REFERENCES actor_profiles (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz,
    status_changed_at   timestamptz,
    status_changed_by   uuid REFERENCES actor_profiles (id),
    status_reason       text,
    CONSTRAINT actor_profiles_kind_valid CHECK (kind IN ('human', 'service')),
    CONSTRAINT actor_profiles_status_valid
        CHECK (status IN ('active', 'suspended', 'deactivated')),
    CONSTRAINT actor_profiles_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 200),
    CONSTRAINT actor_profiles_contact_email_length CHECK (char_length(contact_email) BETWEEN 3 AND 320),
    CONSTRAINT actor_profiles_service_identity_format
        CHECK (service_identity ~ '^[a-z][a-z0-9._:-]{0,119}$'),
    CONSTRAINT actor_profiles_service_identity_shape
        CHECK ((kind = 'service') = (service_identity IS NOT NULL)),
    CONSTRAINT actor_profiles_service_identity_key UNIQUE (service_identity),
    CONSTRAINT actor_profiles_status_reason_length CHECK (char_length(status_reason) BETWEEN 1 AND 500),
    -- Suspension and deactivation are attributed (R47, R49).
    CONSTRAINT actor_profiles_status_change_attributed
        CHECK (status = 'active' OR (status_changed_at IS NOT NULL AND status_reason IS NOT NULL))
);

CREATE FUNCTION actor_profiles_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['status', 'display_name', 'contact_email', 'updated_at', 'last_seen_at',
              'status_changed_at', 'status_changed_by', 'status_reason'],
        'identity anchor (id, kind, service identity, creation) is immutable');
    IF OLD.status = 'deactivated' AND NEW.status <> 'deactivated' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER actor_profiles_freeze BEFORE UPDATE OR DELETE ON actor_profiles
    FOR EACH ROW EXECUTE FUNCTION actor_profiles_guard();
CREATE TRIGGER actor_profiles_no_truncate BEFORE TRUNCATE ON actor_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER actor_profiles_touch_updated_at BEFORE UPDATE ON actor_profiles
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- One (issuer, subject) pair maps to one profile forever: the pair is never rebound
-- (UNIQUE across all links, revoked ones included) and a profile has at most one active
-- link. No tokens or claims are stored.
CREATE TABLE actor_identity_links (
    id                  uuid PRIMARY KEY,
    actor_profile_id    uuid NOT NULL REFERENCES actor_profiles (id),
    issuer              text NOT NULL,
    subject             text NOT NULL,
    status              text NOT NULL DEFAULT 'active',
    linked_by           uuid REFERENCES actor_profiles (id),
    linked_at           timestamptz NOT NULL DEFAULT now(),
    last_verified_at    timestamptz,
    revoked_at          timestamptz,
    revoked_by          uuid REFERENCES actor_profiles (id),
    revoke_reason       text,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT actor_identity_links_issuer_length CHECK (char_length(issuer) BETWEEN 1 AND 200),
    CONSTRAINT actor_identity_links_subject_length CHECK (char_length(subject) BETWEEN 1 AND 200),
    CONSTRAINT actor_identity_links_status_valid CHECK (status IN ('active', 'revoked')),
    CONSTRAINT actor_identity_links_revoke_reason_length CHECK (char_length(revoke_reason) BETWEEN 1 AND 500),
    CONSTRAINT actor_identity_links_revoked_shape
        CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
    CONSTRAINT actor_identity_links_issuer_subject_key UNIQUE (issuer, subject)
);

CREATE UNIQUE INDEX actor_identity_links_one_active_per_profile
    ON actor_identity_links (actor_profile_id) WHERE status = 'active';

CREATE FUNCTION actor_identity_links_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['status', 'last_verified_at', 'revoked_at', 'revoked_by', 'revoke_reason', 'updated_at'],
        'the (issuer, subject) -> profile anchor is never rebound');
    RETURN NEW;
END;
$$;

CREATE TRIGGER actor_identity_links_freeze BEFORE UPDATE OR DELETE ON actor_identity_links
    FOR EACH ROW EXECUTE FUNCTION actor_identity_links_guard();
CREATE TRIGGER actor_identity_links_no_truncate BEFORE TRUNCATE ON actor_identity_links
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER actor_identity_links_touch_updated_at BEFORE UPDATE ON actor_identity_links
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Projects (docs/lifecycle.md, "Project")
-- ---------------------------------------------------------------------------------------

-- R1: every task, guide, policy and grant hangs off exactly one project. The slug is the
-- stable human handle (UNIQUE). Status moves draft -> active (activation gate) <-> paused
-- -> archived.
CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    slug        text NOT NULL,
    description text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'draft',
    created_by  uuid NOT NULL REFERENCES actor_profiles (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    archived_at  timestamptz,
    CONSTRAINT projects_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT projects_slug_format CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$'),
    CONSTRAINT projects_description_length CHECK (char_length(description) <= 20000),
    CONSTRAINT projects_status_valid CHECK (status IN ('draft', 'active', 'paused', 'archived')),
    CONSTRAINT projects_activated_shape CHECK (status IN ('draft', 'archived') OR activated_at IS NOT NULL),
    CONSTRAINT projects_archived_shape CHECK ((status = 'archived') = (archived_at IS NOT NULL)),
    CONSTRAINT projects_slug_key UNIQUE (slug)
);

CREATE FUNCTION projects_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
           (OLD.status = 'draft'  AND NEW.status IN ('active', 'archived'))
        OR (OLD.status = 'active' AND NEW.status IN ('paused', 'archived'))
        OR (OLD.status = 'paused' AND NEW.status IN ('active', 'archived'))) THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER projects_freeze BEFORE UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION projects_guard();
CREATE TRIGGER projects_no_truncate BEFORE TRUNCATE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER projects_touch_updated_at BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Grants (docs/security.md, "Authority: grants, not tokens")
-- ---------------------------------------------------------------------------------------

-- Administrative authority. [I] except the one-way revocation close-out. Access
-- administrator and operator are system-only; the other three roles are system- or
-- project-scoped. One active grant per (actor, role, scope); nobody grants to themselves
-- (R46). issued_by is null only for the CLI bootstrap, which names its principal instead.
CREATE TABLE admin_role_grants (
    id                  uuid PRIMARY KEY,
    target_actor_id     uuid NOT NULL REFERENCES actor_profiles (id),
    role                text NOT NULL,
    scope_type          text NOT NULL,
    scope_project_id    uuid REFERENCES projects (id),
    status              text NOT NULL DEFAULT 'active',
    issued_by           uuid REFERENCES actor_profiles (id),
    issued_by_principal text,
    issuing_grant_id    uuid REFERENCES admin_role_grants (id),
    grant_reason        text NOT NULL,
    issued_at           timestamptz NOT NULL DEFAULT now(),
    revoked_at          timestamptz,
    revoked_by          uuid REFERENCES actor_profiles (id),
    revoke_reason       text,
    CONSTRAINT admin_role_grants_role_valid CHECK (role IN (
        'access_administrator', 'operator', 'project_manager', 'finance_authority', 'audit_authority')),
    CONSTRAINT admin_role_grants_scope_type_valid CHECK (scope_type IN ('system', 'project')),
    CONSTRAINT admin_role_grants_scope_shape
        CHECK ((scope_type = 'system') = (scope_project_id IS NULL)),
    CONSTRAINT admin_role_grants_system_only_roles
        CHECK (role NOT IN ('access_administrator', 'operator') OR scope_type = 'system'),
    CONSTRAINT admin_role_grants_status_valid CHECK (status IN ('active', 'revoked')),
    CONSTRAINT admin_role_grants_issuer_shape
        CHECK (num_nonnulls(issued_by, issued_by_principal) = 1),
    CONSTRAINT admin_role_grants_issued_by_principal_format
        CHECK (issued_by_principal ~ '^workstream:system:[a-z_]{1,64}$'),
    CONSTRAINT admin_role_grants_not_self_granted CHECK (issued_by IS DISTINCT FROM target_actor_id),
    CONSTRAINT admin_role_grants_reason_length CHECK (char_length(grant_reason) BETWEEN 1 AND 500),
    CONSTRAINT admin_role_grants_revoke_reason_length CHECK (char_length(revoke_reason) BETWEEN 1 AND 500),
    CONSTRAINT admin_role_grants_revoked_shape CHECK ((status = 'revoked') =
        (revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND revoke_reason IS NOT NULL)),
    CONSTRAINT admin_role_grants_not_self_revoked CHECK (revoked_by IS DISTINCT FROM target_actor_id)
);

-- NULLS NOT DISTINCT (PostgreSQL 15): system grants (scope_project_id null) collide too.
CREATE UNIQUE INDEX admin_role_grants_one_active
    ON admin_role_grants (target_actor_id, role, scope_project_id) NULLS NOT DISTINCT
    WHERE status = 'active';
CREATE INDEX admin_role_grants_scope_idx ON admin_role_grants (scope_project_id) WHERE status = 'active';

-- Shared [I*] guard for both grant tables: only active -> revoked and its attribution.
CREATE FUNCTION workstream_grant_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['status', 'revoked_at', 'revoked_by', 'revoke_reason'],
        'a grant is immutable except for its revocation');
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'active' AND NEW.status = 'revoked') THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER admin_role_grants_freeze BEFORE UPDATE OR DELETE ON admin_role_grants
    FOR EACH ROW EXECUTE FUNCTION workstream_grant_guard();
CREATE TRIGGER admin_role_grants_no_truncate BEFORE TRUNCATE ON admin_role_grants
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();

-- Evidence a project manager looked at before granting a contributor role. [I]; it never
-- creates a grant by itself.
CREATE TABLE project_role_qualification_snapshots (
    id              uuid PRIMARY KEY,
    project_id      uuid NOT NULL REFERENCES projects (id),
    actor_id        uuid NOT NULL REFERENCES actor_profiles (id),
    requested_role  text NOT NULL,
    evidence        jsonb NOT NULL DEFAULT '{}'::jsonb,
    captured_by     uuid NOT NULL REFERENCES actor_profiles (id),
    captured_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_role_qualification_snapshots_role_valid
        CHECK (requested_role IN ('submitter', 'reviewer', 'adjudicator')),
    CONSTRAINT project_role_qualification_snapshots_evidence_object
        CHECK (jsonb_typeof(evidence) = 'object'),
    CONSTRAINT project_role_qualification_snapshots_identity_key
        UNIQUE (id, project_id, actor_id, requested_role)
);
SELECT workstream_make_append_only('project_role_qualification_snapshots');

-- Contributor authority for one exact project; each role is its own grant, revoked
-- independently. One active grant per (project, actor, role). The qualification snapshot
-- must be for the same project, actor and role (composite FK). Only humans get contributor
-- grants (trigger), nobody grants to themselves (R46). [I] except revocation.
CREATE TABLE project_role_grants (
    id                          uuid PRIMARY KEY,
    project_id                  uuid NOT NULL REFERENCES projects (id),
    actor_id                    uuid NOT NULL REFERENCES actor_profiles (id),
    role                        text NOT NULL,
    status                      text NOT NULL DEFAULT 'active',
    qualification_snapshot_id   uuid NOT NULL,
    issued_by                   uuid NOT NULL REFERENCES actor_profiles (id),
    issuing_admin_grant_id      uuid NOT NULL REFERENCES admin_role_grants (id),
    grant_reason                text NOT NULL,
    issued_at                   timestamptz NOT NULL DEFAULT now(),
    revoked_at                  timestamptz,
    revoked_by                  uuid REFERENCES actor_profiles (id),
    revoke_reason               text,
    CONSTRAINT project_role_grants_role_valid CHECK (role IN ('submitter', 'reviewer', 'adjudicator')),
    CONSTRAINT project_role_grants_status_valid CHECK (status IN ('active', 'revoked')),
    CONSTRAINT project_role_grants_not_self_granted CHECK (issued_by <> actor_id),
    CONSTRAINT project_role_grants_reason_length CHECK (char_length(grant_reason) BETWEEN 1 AND 500),
    CONSTRAINT project_role_grants_revoke_reason_length CHECK (char_length(revoke_reason) BETWEEN 1 AND 500),
    CONSTRAINT project_role_grants_revoked_shape CHECK ((status = 'revoked') =
        (revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND revoke_reason IS NOT NULL)),
    CONSTRAINT project_role_grants_qualification_matches
        FOREIGN KEY (qualification_snapshot_id, project_id, actor_id, role)
        REFERENCES project_role_qualification_snapshots (id, project_id, actor_id, requested_role)
);

CREATE UNIQUE INDEX project_role_grants_one_active
    ON project_role_grants (project_id, actor_id, role) WHERE status = 'active';
CREATE INDEX project_role_grants_actor_idx ON project_role_grants (actor_id) WHERE status = 'active';

CREATE FUNCTION project_role_grants_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM actor_profiles WHERE id = NEW.actor_id AND kind = 'human') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_role_grants_target_human',
            'contributor roles are granted to human actors only');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER project_role_grants_check_insert BEFORE INSERT ON project_role_grants
    FOR EACH ROW EXECUTE FUNCTION project_role_grants_check_insert();
CREATE TRIGGER project_role_grants_freeze BEFORE UPDATE OR DELETE ON project_role_grants
    FOR EACH ROW EXECUTE FUNCTION workstream_grant_guard();
CREATE TRIGGER project_role_grants_no_truncate BEFORE TRUNCATE ON project_role_grants
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();

-- ---------------------------------------------------------------------------------------
-- Audit log: append-only and hash-chained, shape fixed (docs/architecture.md, "The audit ledger")
-- ---------------------------------------------------------------------------------------

-- The head of each chain ('system' or 'project:<uuid>'); the writer locks it FOR UPDATE
-- to serialise appends per chain. Mutable by design.
CREATE TABLE audit_chain_heads (
    chain_key   text PRIMARY KEY,          -- 'system' or 'project:<uuid>'
    last_seq    bigint NOT NULL CHECK (last_seq >= 0),
    last_digest text CHECK (last_digest ~ '^sha256:[0-9a-f]{64}$')
);

-- R2/R3: every transition appends exactly one event in the same transaction; events are
-- never changed. Each event stores its predecessor's digest within its chain.
CREATE TABLE audit_events (
    id             uuid PRIMARY KEY,
    chain_key      text NOT NULL,
    chain_seq      bigint NOT NULL CHECK (chain_seq >= 1),
    project_id     uuid REFERENCES projects(id),
    entity_type    text NOT NULL,
    entity_id      uuid,
    event_type     text NOT NULL,
    from_status    text,
    to_status      text,
    actor_id       uuid REFERENCES actor_profiles(id),
    reason         text,
    payload        jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id     text,
    correlation_id text,
    occurred_at    timestamptz NOT NULL,
    prev_digest    text CHECK (prev_digest ~ '^sha256:[0-9a-f]{64}$'),
    digest         text NOT NULL CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    UNIQUE (chain_key, chain_seq),
    CHECK ((chain_seq = 1) = (prev_digest IS NULL))
);
SELECT workstream_make_append_only('audit_events');

CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, occurred_at);
CREATE INDEX audit_events_project_idx ON audit_events (project_id, occurred_at);
CREATE INDEX audit_events_correlation_idx ON audit_events (correlation_id) WHERE correlation_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- Idempotency records (R15; docs/security.md, "Idempotency keys")
-- ---------------------------------------------------------------------------------------

-- One row per (actor, operation, key): the same key with the same request hash replays the
-- stored response; a different hash is 409 idempotency_mismatch. Written in the same
-- transaction as the mutation it answers, so there is no pending state. Mutable only so
-- that old rows can be purged after expires_at.
CREATE TABLE idempotency_records (
    id              uuid PRIMARY KEY,
    actor_id        uuid NOT NULL REFERENCES actor_profiles (id),
    operation       text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    response_status integer NOT NULL,
    response_body   jsonb NOT NULL,
    resource_type   text,
    resource_id     uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    CONSTRAINT idempotency_records_operation_length CHECK (char_length(operation) BETWEEN 1 AND 200),
    CONSTRAINT idempotency_records_key_length CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    CONSTRAINT idempotency_records_request_hash_format CHECK (request_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT idempotency_records_response_status_valid CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT idempotency_records_resource_type_length CHECK (char_length(resource_type) BETWEEN 1 AND 100),
    CONSTRAINT idempotency_records_expiry_after_creation CHECK (expires_at > created_at),
    CONSTRAINT idempotency_records_actor_operation_key UNIQUE (actor_id, operation, idempotency_key)
);

CREATE INDEX idempotency_records_expiry_idx ON idempotency_records (expires_at) WHERE expires_at IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- Durable job queue (docs/architecture.md, "The durable job engine")
-- ---------------------------------------------------------------------------------------

-- State machine (River's vocabulary):
--   available --claim--> running --ok--> completed
--                        running --error, attempt < max--> retryable --run_at due--> running
--                        running --error, attempt = max--> discarded (dead letter; requeue -> available)
--   available | retryable --cancel--> cancelled
-- A claim bumps lease_generation; a worker may finish a job only while it still holds the
-- same generation and the lease has not expired (stale workers cannot finish re-leased
-- jobs). The claim path uses the partial index below, which holds only available and
-- retryable rows, so finished history never slows claiming.
CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
    state            text NOT NULL DEFAULT 'available',
    attempt          integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 25,
    run_at           timestamptz NOT NULL DEFAULT now(),
    lease_generation bigint NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    locked_by        text,
    last_error       text,
    -- Typed error trail, one object per failed attempt: {attempt, at, error}.
    errors           jsonb NOT NULL DEFAULT '[]'::jsonb,
    idempotency_key  text,
    correlation_id   text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempted_at     timestamptz,
    finished_at      timestamptz,
    CONSTRAINT jobs_kind_format CHECK (kind ~ '^[a-z][a-z0-9_.]{0,99}$'),
    CONSTRAINT jobs_state_valid CHECK (state IN (
        'available', 'running', 'completed', 'retryable', 'discarded', 'cancelled')),
    CONSTRAINT jobs_attempt_nonnegative CHECK (attempt >= 0),
    CONSTRAINT jobs_max_attempts_positive CHECK (max_attempts > 0),
    CONSTRAINT jobs_attempt_within_max CHECK (attempt <= max_attempts),
    CONSTRAINT jobs_lease_generation_nonnegative CHECK (lease_generation >= 0),
    CONSTRAINT jobs_running_has_lease CHECK ((state = 'running') =
        (lease_expires_at IS NOT NULL AND locked_by IS NOT NULL)),
    CONSTRAINT jobs_finished_shape CHECK ((state IN ('completed', 'discarded', 'cancelled')) =
        (finished_at IS NOT NULL)),
    CONSTRAINT jobs_locked_by_length CHECK (char_length(locked_by) BETWEEN 1 AND 200),
    CONSTRAINT jobs_last_error_length CHECK (char_length(last_error) <= 8000),
    CONSTRAINT jobs_errors_array CHECK (jsonb_typeof(errors) = 'array'),
    CONSTRAINT jobs_idempotency_key_length CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    CONSTRAINT jobs_correlation_id_length CHECK (char_length(correlation_id) BETWEEN 1 AND 200),
    CONSTRAINT jobs_idempotency_key_key UNIQUE (idempotency_key)
);

-- Hot claim path: WHERE state IN ('available','retryable') AND run_at <= now()
-- ORDER BY run_at, id FOR UPDATE SKIP LOCKED.
CREATE INDEX jobs_claim_idx ON jobs (run_at, id) WHERE state IN ('available', 'retryable');
-- Lease rescue: running jobs whose lease expired.
CREATE INDEX jobs_running_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- History queries and pruning.
CREATE INDEX jobs_kind_created_idx ON jobs (kind, created_at);
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
