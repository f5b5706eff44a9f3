-- 0003_tasks_and_submissions.sql
--
-- Workstream schema, part 3 of 5: tasks with their locked context, assignments, submission
-- admissions (pre-submit passed), immutable submissions and their packet files, and post-submit
-- checker runs with their immutable per-checker results (docs/lifecycle.md, "States";
-- docs/checkers.md, "Packet intake" and "How a run is stored and routed").
--
-- Error codes: see the header of 0001_foundation.sql (WS001 immutable, WS002 transition,
-- 23514 named cross-row checks).
--
-- Locked context (docs/lifecycle.md, "Locked context"): one guide bundle, no separate snapshot/
-- effective/pre-submit/post-submit ids. The same column set appears on tasks and submissions:
--   locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
--   locked_policy_bundle_hash, locked_artifact_policy_hash,
--   locked_checker_policy (jsonb body) + locked_checker_policy_hash,
--   locked_review_policy_hash, locked_revision_policy_hash
-- and is pinned by one composite FK to project_guides, so a lock can only name the exact
-- values of one activated guide (R12; docs/lifecycle.md, "Locked context").

-- ---------------------------------------------------------------------------------------
-- Tasks (docs/lifecycle.md, "States")
-- ---------------------------------------------------------------------------------------

-- R1: a task belongs to exactly one project. Its status is one of the 12 task states and
-- moves only along T1-T17 (trigger, R2; terminal states have no exit). The guide lock is
-- stamped at screening (T1) and complete on every task past draft (except one cancelled
-- before screening); the contribution-policy lock is set at release (T2) and present from
-- ready on (R11, R12). The guide lock must name the active guide when stamped, and the
-- contribution lock must be the one that guide binds (composite FK). After release the
-- locks are frozen except for the human-revision rebase (R12, R33; trigger).
CREATE TABLE tasks (
    id                              uuid PRIMARY KEY,
    project_id                      uuid NOT NULL REFERENCES projects (id),
    title                           text NOT NULL,
    description                     text NOT NULL DEFAULT '',
    task_type                       text,
    difficulty                      text,
    skill_tags                      text[] NOT NULL DEFAULT '{}',
    estimated_time_minutes          integer,
    acceptance_criteria             text NOT NULL DEFAULT '',
    rejection_criteria              text NOT NULL DEFAULT '',
    deadline_at                     timestamptz,
    source_type                     text NOT NULL DEFAULT 'manual',
    source_ref                      text,
    source_payload_hash             text,
    import_batch_id                 uuid,
    external_task_id                text,
    status                          text NOT NULL DEFAULT 'draft',
    -- The last screening rejection note {gate, reason_code, fix_required, retry_id} (T3).
    screening_note                  jsonb,
    created_by                      uuid NOT NULL REFERENCES actor_profiles (id),
    assigned_to                     uuid REFERENCES actor_profiles (id),
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now(),
    -- Locked context.
    locked_guide_id                 uuid,
    locked_guide_version            text,
    locked_guide_activation_sequence integer,
    locked_policy_bundle_hash       text,
    locked_artifact_policy_hash     text,
    locked_checker_policy           jsonb,
    locked_checker_policy_hash      text,
    locked_review_policy_hash       text,
    locked_revision_policy_hash     text,
    locked_contribution_policy_version_id uuid,
    locked_at                       timestamptz,
    CONSTRAINT tasks_title_length CHECK (char_length(title) BETWEEN 1 AND 300),
    CONSTRAINT tasks_description_length CHECK (char_length(description) <= 20000),
    CONSTRAINT tasks_task_type_length CHECK (char_length(task_type) BETWEEN 1 AND 100),
    CONSTRAINT tasks_difficulty_valid CHECK (difficulty IN ('easy', 'medium', 'hard', 'expert')),
    CONSTRAINT tasks_skill_tags_bounded CHECK (cardinality(skill_tags) <= 32),
    CONSTRAINT tasks_estimated_time_positive CHECK (estimated_time_minutes > 0),
    CONSTRAINT tasks_acceptance_criteria_length CHECK (char_length(acceptance_criteria) <= 20000),
    CONSTRAINT tasks_rejection_criteria_length CHECK (char_length(rejection_criteria) <= 20000),
    CONSTRAINT tasks_source_type_valid CHECK (source_type IN ('manual', 'markdown_import', 'csv_import')),
    CONSTRAINT tasks_source_ref_length CHECK (char_length(source_ref) BETWEEN 1 AND 500),
    CONSTRAINT tasks_source_payload_hash_format CHECK (source_payload_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tasks_external_task_id_length CHECK (char_length(external_task_id) BETWEEN 1 AND 200),
    CONSTRAINT tasks_status_valid CHECK (status IN (
        'draft', 'screening', 'ready', 'claimed', 'in_progress', 'submitted',
        'evaluation_pending', 'review_pending', 'needs_revision', 'accepted', 'rejected', 'cancelled')),
    CONSTRAINT tasks_screening_note_object CHECK (jsonb_typeof(screening_note) = 'object'),
    CONSTRAINT tasks_locked_guide_version_length CHECK (char_length(locked_guide_version) BETWEEN 1 AND 64),
    CONSTRAINT tasks_locked_policy_bundle_hash_format CHECK (locked_policy_bundle_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tasks_locked_artifact_policy_hash_format CHECK (locked_artifact_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tasks_locked_checker_policy_hash_format CHECK (locked_checker_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tasks_locked_review_policy_hash_format CHECK (locked_review_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tasks_locked_revision_policy_hash_format CHECK (locked_revision_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tasks_locked_checker_policy_object CHECK (jsonb_typeof(locked_checker_policy) = 'object'),
    -- The guide lock is stamped as a whole.
    CONSTRAINT tasks_guide_lock_all_or_nothing CHECK (
        num_nulls(locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
                  locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy,
                  locked_checker_policy_hash, locked_review_policy_hash, locked_revision_policy_hash,
                  locked_at) IN (0, 10)),
    -- T1 stamps the guide lock; only a task cancelled before screening lacks it (R11).
    CONSTRAINT tasks_guide_lock_required
        CHECK (status IN ('draft', 'cancelled') OR locked_guide_id IS NOT NULL),
    -- T2 sets the contribution lock before any claim (docs/lifecycle.md, "Locked context"; AS09).
    CONSTRAINT tasks_contribution_lock_required
        CHECK (status IN ('draft', 'screening', 'cancelled') OR locked_contribution_policy_version_id IS NOT NULL),
    CONSTRAINT tasks_contribution_lock_needs_guide_lock
        CHECK (locked_contribution_policy_version_id IS NULL OR locked_guide_id IS NOT NULL),
    -- A task in the contributor pipeline has an assignee; an unclaimed one has none (T4, T17).
    CONSTRAINT tasks_assignee_shape CHECK (
        (status NOT IN ('claimed', 'in_progress', 'submitted', 'evaluation_pending', 'review_pending', 'needs_revision')
         OR assigned_to IS NOT NULL)
        AND (status NOT IN ('draft', 'screening', 'ready') OR assigned_to IS NULL)),
    CONSTRAINT tasks_guide_lock_fk FOREIGN KEY (
            locked_guide_id, project_id, locked_guide_version, locked_guide_activation_sequence,
            locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy_hash,
            locked_review_policy_hash, locked_revision_policy_hash)
        REFERENCES project_guides (
            id, project_id, version, activation_sequence,
            policy_bundle_hash, artifact_policy_hash, checker_policy_hash,
            review_policy_hash, revision_policy_hash),
    CONSTRAINT tasks_contribution_lock_fk
        FOREIGN KEY (locked_guide_id, locked_contribution_policy_version_id)
        REFERENCES project_guides (id, contribution_policy_version_id),
    CONSTRAINT tasks_project_external_task_key UNIQUE (project_id, external_task_id),
    CONSTRAINT tasks_project_key UNIQUE (id, project_id)
);

CREATE INDEX tasks_project_status_idx ON tasks (project_id, status, created_at);
CREATE INDEX tasks_ready_queue_idx ON tasks (project_id, created_at) WHERE status = 'ready';
CREATE INDEX tasks_assigned_to_idx ON tasks (assigned_to) WHERE assigned_to IS NOT NULL;

CREATE FUNCTION tasks_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lock_columns constant text[] := ARRAY[
        'locked_guide_id', 'locked_guide_version', 'locked_guide_activation_sequence',
        'locked_policy_bundle_hash', 'locked_artifact_policy_hash', 'locked_checker_policy',
        'locked_checker_policy_hash', 'locked_review_policy_hash', 'locked_revision_policy_hash',
        'locked_contribution_policy_version_id', 'locked_at'];
    changed text[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;

    IF TG_OP = 'UPDATE' THEN
        IF NEW.project_id <> OLD.project_id OR NEW.created_by <> OLD.created_by
           OR NEW.created_at <> OLD.created_at THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, 'UPDATE of task identity');
        END IF;

        -- R2: only T1-T17 (docs/lifecycle.md, "Transition table"); terminal states have no exit.
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
               (OLD.status = 'draft'              AND NEW.status IN ('screening', 'cancelled'))
            OR (OLD.status = 'screening'          AND NEW.status IN ('ready', 'draft', 'cancelled'))
            OR (OLD.status = 'ready'              AND NEW.status IN ('claimed', 'cancelled'))
            OR (OLD.status = 'claimed'            AND NEW.status IN ('in_progress', 'ready', 'cancelled'))
            OR (OLD.status = 'in_progress'        AND NEW.status IN ('submitted', 'ready', 'cancelled'))
            OR (OLD.status = 'submitted'          AND NEW.status = 'evaluation_pending')
            OR (OLD.status = 'evaluation_pending' AND NEW.status IN ('review_pending', 'needs_revision'))
            OR (OLD.status = 'review_pending'     AND NEW.status IN ('evaluation_pending', 'accepted',
                                                                    'needs_revision', 'rejected'))
            OR (OLD.status = 'needs_revision'     AND NEW.status IN ('submitted', 'cancelled'))) THEN
            PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
        END IF;

        -- R12/R33: locks are stamped during draft/screening (T1-T3, T2 adds the contribution
        -- lock) and afterwards change only through the needs_revision rebase (T12).
        SELECT coalesce(array_agg(c), '{}') INTO changed
        FROM unnest(workstream_changed_columns(to_jsonb(OLD), to_jsonb(NEW))) AS c
        WHERE c = ANY (lock_columns);
        IF cardinality(changed) > 0
           AND OLD.status NOT IN ('draft', 'screening') AND NEW.status <> 'needs_revision' THEN
            RAISE EXCEPTION USING
                ERRCODE    = 'WS001',
                MESSAGE    = format('tasks: locked context is frozen in status %s (R12); changed: %s',
                                    OLD.status, array_to_string(changed, ', ')),
                TABLE      = TG_TABLE_NAME,
                CONSTRAINT = 'tasks_locked_context_frozen';
        END IF;
    END IF;

    -- A newly stamped guide lock must name the project's active guide (T1, R33 "currently
    -- active"); the composite FK then pins every hash to that guide's values.
    IF NEW.locked_guide_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.locked_guide_id IS DISTINCT FROM OLD.locked_guide_id)
       AND NOT EXISTS (SELECT 1 FROM project_guides WHERE id = NEW.locked_guide_id AND status = 'active') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'tasks_locked_guide_active',
            'the guide lock must name the project''s active guide');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER tasks_guard BEFORE INSERT OR UPDATE OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_guard();
CREATE TRIGGER tasks_no_truncate BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER tasks_touch_updated_at BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Task assignments (docs/lifecycle.md, "Assignment"; R13, R14)
-- ---------------------------------------------------------------------------------------

-- R13: at most one active assignment per task (partial unique; two racing claims cannot both
-- commit). The contributor is a human actor (trigger). The claim copies the task's
-- contribution-policy lock without looking anything up (trigger checks the copy;
-- docs/lifecycle.md, "Locked context"). active -> completed (accept) | blocked (reject, names the
-- Review) | released (cancel or close) | authority_revoked (T17); the four outcomes are terminal.
CREATE TABLE task_assignments (
    id                                      uuid PRIMARY KEY,
    task_id                                 uuid NOT NULL REFERENCES tasks (id),
    contributor_id                          uuid NOT NULL REFERENCES actor_profiles (id),
    assigned_by                             uuid NOT NULL REFERENCES actor_profiles (id),
    submitter_contribution_policy_version_id uuid NOT NULL REFERENCES contribution_policy_versions (id),
    status                                  text NOT NULL DEFAULT 'active',
    blocking_review_id                      uuid,
    status_reason                           text,
    assigned_at                             timestamptz NOT NULL DEFAULT now(),
    accepted_at                             timestamptz,
    released_at                             timestamptz,
    updated_at                              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT task_assignments_status_valid
        CHECK (status IN ('active', 'completed', 'blocked', 'released', 'authority_revoked')),
    CONSTRAINT task_assignments_blocked_shape CHECK ((status = 'blocked') = (blocking_review_id IS NOT NULL)),
    CONSTRAINT task_assignments_released_shape
        CHECK (status NOT IN ('released', 'authority_revoked') OR released_at IS NOT NULL),
    CONSTRAINT task_assignments_status_reason_length CHECK (char_length(status_reason) BETWEEN 1 AND 500),
    CONSTRAINT task_assignments_task_key UNIQUE (id, task_id),
    CONSTRAINT task_assignments_contributor_key UNIQUE (id, task_id, contributor_id),
    CONSTRAINT task_assignments_policy_key UNIQUE (id, contributor_id, submitter_contribution_policy_version_id)
);

CREATE UNIQUE INDEX tasks_one_active_assignment ON task_assignments (task_id) WHERE status = 'active';
CREATE INDEX task_assignments_contributor_idx ON task_assignments (contributor_id, status);

CREATE FUNCTION task_assignments_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM actor_profiles WHERE id = NEW.contributor_id AND kind = 'human') THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'task_assignments_contributor_human',
                'the contributor of an assignment must be a human actor');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM tasks WHERE id = NEW.task_id
                       AND locked_contribution_policy_version_id = NEW.submitter_contribution_policy_version_id) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'task_assignments_policy_copied_from_task',
                'the assignment copies the task''s locked contribution policy version');
        END IF;
        RETURN NEW;
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['status', 'blocking_review_id', 'status_reason', 'accepted_at', 'released_at',
              'submitter_contribution_policy_version_id', 'updated_at'],
        'task, contributor and assigner of an assignment never change');
    IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'active' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    IF OLD.status <> 'active' AND NEW.submitter_contribution_policy_version_id
            IS DISTINCT FROM OLD.submitter_contribution_policy_version_id THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, 'UPDATE of a closed assignment''s policy');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER task_assignments_guard BEFORE INSERT OR UPDATE OR DELETE ON task_assignments
    FOR EACH ROW EXECUTE FUNCTION task_assignments_guard();
CREATE TRIGGER task_assignments_no_truncate BEFORE TRUNCATE ON task_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER task_assignments_touch_updated_at BEFORE UPDATE ON task_assignments
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Submission admissions (docs/lifecycle.md, "Admission"; R16)
-- ---------------------------------------------------------------------------------------

-- A prepared packet whose pre-submit checks passed: the outer ZIP identity, the server-built
-- manifest and the pre-submit report. ready -> consumed (atomically with exactly one
-- Submission: submissions.submission_bundle_admission_id is UNIQUE and the submission's
-- archive/manifest identity is FK-pinned to the admission) | stale (context drifted).
-- Nothing else changes once written.
CREATE TABLE submission_bundle_admissions (
    id                         uuid PRIMARY KEY,
    task_id                    uuid NOT NULL,
    task_assignment_id         uuid NOT NULL,
    contributor_id             uuid NOT NULL,
    archive_sha256             text NOT NULL,
    archive_byte_count         bigint NOT NULL,
    archive_object_key         text,
    manifest                   jsonb NOT NULL,
    manifest_digest            text NOT NULL,
    pre_submit_report          jsonb NOT NULL DEFAULT '{}'::jsonb,
    locked_policy_bundle_hash  text NOT NULL,
    predecessor_submission_id  uuid,
    state                      text NOT NULL DEFAULT 'ready',
    created_at                 timestamptz NOT NULL DEFAULT now(),
    consumed_at                timestamptz,
    stale_at                   timestamptz,
    stale_reason               text,
    CONSTRAINT submission_bundle_admissions_archive_sha256_format CHECK (archive_sha256 ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT submission_bundle_admissions_archive_byte_count_positive CHECK (archive_byte_count > 0),
    CONSTRAINT submission_bundle_admissions_archive_object_key_length
        CHECK (char_length(archive_object_key) BETWEEN 1 AND 1024),
    CONSTRAINT submission_bundle_admissions_manifest_object CHECK (jsonb_typeof(manifest) = 'object'),
    CONSTRAINT submission_bundle_admissions_manifest_digest_format CHECK (manifest_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT submission_bundle_admissions_report_object CHECK (jsonb_typeof(pre_submit_report) = 'object'),
    CONSTRAINT submission_bundle_admissions_bundle_hash_format
        CHECK (locked_policy_bundle_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT submission_bundle_admissions_state_valid CHECK (state IN ('ready', 'consumed', 'stale')),
    CONSTRAINT submission_bundle_admissions_state_shape CHECK (
        (state = 'ready' AND consumed_at IS NULL AND stale_at IS NULL)
        OR (state = 'consumed' AND consumed_at IS NOT NULL AND stale_at IS NULL)
        OR (state = 'stale' AND stale_at IS NOT NULL AND consumed_at IS NULL)),
    CONSTRAINT submission_bundle_admissions_stale_reason_length CHECK (char_length(stale_reason) BETWEEN 1 AND 500),
    CONSTRAINT submission_bundle_admissions_assignment_fk FOREIGN KEY (task_assignment_id, task_id, contributor_id)
        REFERENCES task_assignments (id, task_id, contributor_id),
    CONSTRAINT submission_bundle_admissions_identity_key
        UNIQUE (id, task_id, task_assignment_id, archive_sha256, manifest_digest)
);

CREATE INDEX submission_bundle_admissions_task_idx ON submission_bundle_admissions (task_id, state);

CREATE FUNCTION submission_bundle_admissions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['state', 'consumed_at', 'stale_at', 'stale_reason'],
        'an admission only moves ready -> consumed | stale');
    IF NEW.state IS DISTINCT FROM OLD.state AND OLD.state <> 'ready' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.state, NEW.state);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER submission_bundle_admissions_freeze BEFORE UPDATE OR DELETE ON submission_bundle_admissions
    FOR EACH ROW EXECUTE FUNCTION submission_bundle_admissions_guard();
CREATE TRIGGER submission_bundle_admissions_no_truncate BEFORE TRUNCATE ON submission_bundle_admissions
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();

-- ---------------------------------------------------------------------------------------
-- Submissions (docs/checkers.md, "Packet intake"; R17, R18, R22)
-- ---------------------------------------------------------------------------------------

-- An immutable packet version. The server assigns version 1, 2, 3... per task (UNIQUE);
-- each later version supersedes its immediate same-task predecessor (non-branching) and has
-- exactly one revision source: the checker run that asked for remediation, or the human
-- revision preparation (R18; neither for version 1). Every locked stamp is copied from the
-- task at creation (trigger) and FK-pinned to the guide; the contribution version is the
-- assignment's. Archive and manifest identity are FK-pinned to the consumed admission.
-- [I]: never edited, a changed artifact is a new version (AS18).
CREATE TABLE submissions (
    id                              uuid PRIMARY KEY,
    project_id                      uuid NOT NULL,
    task_id                         uuid NOT NULL,
    task_assignment_id              uuid NOT NULL,
    contributor_id                  uuid NOT NULL,
    version                         integer NOT NULL,
    status                          text NOT NULL DEFAULT 'submitted',
    summary                         text NOT NULL,
    contributor_attestation         text NOT NULL,
    submission_bundle_admission_id  uuid NOT NULL,
    archive_sha256                  text NOT NULL,
    archive_byte_count              bigint NOT NULL,
    archive_object_key              text,
    manifest                        jsonb NOT NULL,
    manifest_digest                 text NOT NULL,
    locked_guide_id                 uuid NOT NULL,
    locked_guide_version            text NOT NULL,
    locked_guide_activation_sequence integer NOT NULL,
    locked_policy_bundle_hash       text NOT NULL,
    locked_artifact_policy_hash     text NOT NULL,
    locked_checker_policy           jsonb NOT NULL,
    locked_checker_policy_hash      text NOT NULL,
    locked_review_policy_hash       text NOT NULL,
    locked_revision_policy_hash     text NOT NULL,
    contribution_policy_version_id  uuid NOT NULL REFERENCES contribution_policy_versions (id),
    supersedes_submission_id        uuid,
    remediation_source_checker_run_id uuid,
    revision_context_preparation_id uuid,
    submitted_at                    timestamptz NOT NULL DEFAULT now(),
    locked_at                       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT submissions_version_positive CHECK (version >= 1),
    CONSTRAINT submissions_status_valid CHECK (status = 'submitted'),
    -- Summary and attestation: <= 64 KiB each (docs/checkers.md, "What the contributor supplies").
    CONSTRAINT submissions_summary_length CHECK (char_length(summary) >= 1 AND octet_length(summary) <= 65536),
    CONSTRAINT submissions_attestation_length
        CHECK (char_length(contributor_attestation) >= 1 AND octet_length(contributor_attestation) <= 65536),
    CONSTRAINT submissions_archive_sha256_format CHECK (archive_sha256 ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT submissions_archive_byte_count_positive CHECK (archive_byte_count > 0),
    CONSTRAINT submissions_archive_object_key_length CHECK (char_length(archive_object_key) BETWEEN 1 AND 1024),
    CONSTRAINT submissions_manifest_object CHECK (jsonb_typeof(manifest) = 'object'),
    CONSTRAINT submissions_manifest_digest_format CHECK (manifest_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT submissions_locked_checker_policy_object CHECK (jsonb_typeof(locked_checker_policy) = 'object'),
    -- R18: version 1 has no revision source; every later version has exactly one.
    CONSTRAINT submissions_revision_source CHECK (
        (version = 1 AND supersedes_submission_id IS NULL
         AND remediation_source_checker_run_id IS NULL AND revision_context_preparation_id IS NULL)
        OR (version > 1 AND supersedes_submission_id IS NOT NULL
         AND num_nonnulls(remediation_source_checker_run_id, revision_context_preparation_id) = 1)),
    CONSTRAINT submissions_task_fk FOREIGN KEY (task_id, project_id) REFERENCES tasks (id, project_id),
    CONSTRAINT submissions_assignment_fk FOREIGN KEY (task_assignment_id, task_id, contributor_id)
        REFERENCES task_assignments (id, task_id, contributor_id),
    CONSTRAINT submissions_admission_fk FOREIGN KEY (
            submission_bundle_admission_id, task_id, task_assignment_id, archive_sha256, manifest_digest)
        REFERENCES submission_bundle_admissions (id, task_id, task_assignment_id, archive_sha256, manifest_digest),
    CONSTRAINT submissions_guide_lock_fk FOREIGN KEY (
            locked_guide_id, project_id, locked_guide_version, locked_guide_activation_sequence,
            locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy_hash,
            locked_review_policy_hash, locked_revision_policy_hash)
        REFERENCES project_guides (
            id, project_id, version, activation_sequence,
            policy_bundle_hash, artifact_policy_hash, checker_policy_hash,
            review_policy_hash, revision_policy_hash),
    CONSTRAINT submissions_task_version_key UNIQUE (task_id, version),
    CONSTRAINT submissions_admission_key UNIQUE (submission_bundle_admission_id),
    -- Non-branching version chain.
    CONSTRAINT submissions_supersedes_key UNIQUE (supersedes_submission_id),
    CONSTRAINT submissions_task_key UNIQUE (id, task_id),
    CONSTRAINT submissions_contributor_key UNIQUE (id, task_id, contributor_id),
    CONSTRAINT submissions_version_key UNIQUE (id, task_id, version),
    CONSTRAINT submissions_artifact_key UNIQUE (id, task_id, archive_sha256),
    -- Target of the checker-run FK: a run binds the exact packet and checker policy (R20, R22).
    CONSTRAINT submissions_checker_binding_key
        UNIQUE (id, task_id, version, manifest_digest, locked_checker_policy_hash)
);
SELECT workstream_make_append_only('submissions');

ALTER TABLE submissions
    ADD CONSTRAINT submissions_supersedes_fk FOREIGN KEY (supersedes_submission_id, task_id)
    REFERENCES submissions (id, task_id);

CREATE FUNCTION submissions_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t tasks%ROWTYPE;
BEGIN
    SELECT * INTO t FROM tasks WHERE id = NEW.task_id;
    -- R17/R22: every stamp is the task's current lock, never a client value.
    IF (NEW.locked_guide_id, NEW.locked_guide_version, NEW.locked_guide_activation_sequence,
        NEW.locked_policy_bundle_hash, NEW.locked_artifact_policy_hash, NEW.locked_checker_policy,
        NEW.locked_checker_policy_hash, NEW.locked_review_policy_hash, NEW.locked_revision_policy_hash)
       IS DISTINCT FROM
       (t.locked_guide_id, t.locked_guide_version, t.locked_guide_activation_sequence,
        t.locked_policy_bundle_hash, t.locked_artifact_policy_hash, t.locked_checker_policy,
        t.locked_checker_policy_hash, t.locked_review_policy_hash, t.locked_revision_policy_hash) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'submissions_locks_match_task',
            'the locked stamps of a submission are copied from its task');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM task_assignments WHERE id = NEW.task_assignment_id
                   AND submitter_contribution_policy_version_id = NEW.contribution_policy_version_id) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'submissions_policy_matches_assignment',
            'the contribution policy version is copied from the assignment');
    END IF;
    IF NEW.version > 1 THEN
        -- R18: the immediate same-task predecessor.
        IF NOT EXISTS (SELECT 1 FROM submissions WHERE id = NEW.supersedes_submission_id
                       AND version = NEW.version - 1) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'submissions_supersedes_previous_version',
                'a new version supersedes the immediately preceding version');
        END IF;
        -- Checker path (T14): the predecessor's finished run that routed needs_revision.
        IF NEW.remediation_source_checker_run_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM checker_runs WHERE id = NEW.remediation_source_checker_run_id
              AND submission_id = NEW.supersedes_submission_id AND status = 'completed'
              AND routing_recommendation = 'needs_revision') THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'submissions_remediation_run_valid',
                'the remediation source must be the predecessor''s completed needs_revision run');
        END IF;
        -- Human path (T14, R34): the current head of the chain, for this task and version,
        -- and not blocked.
        IF NEW.revision_context_preparation_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM revision_context_preparations p
            WHERE p.id = NEW.revision_context_preparation_id AND p.task_id = NEW.task_id
              AND p.prior_submission_id = NEW.supersedes_submission_id
              AND p.next_submission_version = NEW.version AND p.outcome <> 'blocked'
              AND NOT EXISTS (SELECT 1 FROM revision_context_preparations s
                              WHERE s.predecessor_preparation_id = p.id)) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'submissions_preparation_valid',
                're-preparation required: the preparation is not the unblocked head for this version');
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER submissions_check_insert BEFORE INSERT ON submissions
    FOR EACH ROW EXECUTE FUNCTION submissions_check_insert();

CREATE INDEX submissions_contributor_idx ON submissions (contributor_id, submitted_at);

-- The files of a packet (from the server-built manifest): normalized relative path, size,
-- sha256, executable intent. One row per path per submission (UNIQUE). Paths are re-checked
-- here as defence in depth against traversal (no absolute paths, no '.'/'..' segments, no
-- backslashes or control characters). [I], written with the submission.
CREATE TABLE packet_files (
    id            uuid PRIMARY KEY,
    submission_id uuid NOT NULL REFERENCES submissions (id),
    path          text NOT NULL,
    byte_count    bigint NOT NULL,
    sha256        text NOT NULL,
    executable    boolean NOT NULL DEFAULT false,
    media_type    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT packet_files_path_length CHECK (char_length(path) >= 1 AND octet_length(path) <= 1024),
    CONSTRAINT packet_files_path_safe CHECK (
        path !~ '(^/|\\|[[:cntrl:]]|//|/$|(^|/)\.{1,2}(/|$))'),
    CONSTRAINT packet_files_byte_count_nonnegative CHECK (byte_count >= 0),
    CONSTRAINT packet_files_sha256_format CHECK (sha256 ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT packet_files_media_type_length CHECK (char_length(media_type) BETWEEN 1 AND 200),
    CONSTRAINT packet_files_submission_path_key UNIQUE (submission_id, path)
);
SELECT workstream_make_append_only('packet_files');

-- ---------------------------------------------------------------------------------------
-- Checker runs and results (docs/checkers.md, "How a run is stored and routed"; R20-R23)
-- ---------------------------------------------------------------------------------------

-- One evaluation attempt of one submission. The run binds the exact packet (manifest
-- digest) and checker policy hash of its submission (composite FK, R20, R22). Attempts are
-- numbered per submission; a retry supersedes the previous attempt (same submission,
-- non-branching) and exactly one run is current per submission (partial unique). Only the
-- latest version of a task gets new runs (trigger). Status queued -> running -> completed |
-- failed; routing starts at not_evaluated. [I*]: once completed or failed, only the
-- currency flag may drop (trigger); results are never rewritten (R23).
CREATE TABLE checker_runs (
    id                        uuid PRIMARY KEY,
    task_id                   uuid NOT NULL,
    submission_id             uuid NOT NULL,
    submission_version        integer NOT NULL,
    packet_digest             text NOT NULL,
    policy_hash               text NOT NULL,
    status                    text NOT NULL DEFAULT 'queued',
    routing_recommendation    text NOT NULL DEFAULT 'not_evaluated',
    outcome_source            text NOT NULL DEFAULT 'auto_checker',
    trigger_source            text NOT NULL,
    triggered_by              uuid REFERENCES actor_profiles (id),
    trigger_reason            text,
    attempt_number            integer NOT NULL,
    supersedes_checker_run_id uuid,
    is_current_for_submission boolean NOT NULL DEFAULT true,
    request_digest            text NOT NULL,
    result_digest             text,
    failure_code              text,
    limits                    jsonb NOT NULL DEFAULT '{}'::jsonb,
    runner_version            text,
    created_at                timestamptz NOT NULL DEFAULT now(),
    started_at                timestamptz,
    completed_at              timestamptz,
    CONSTRAINT checker_runs_packet_digest_format CHECK (packet_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT checker_runs_policy_hash_format CHECK (policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT checker_runs_status_valid CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    -- allow_review is a routing hint, never a decision (docs/glossary.md, "allow_review").
    CONSTRAINT checker_runs_routing_valid CHECK (routing_recommendation IN (
        'not_evaluated', 'allow_review', 'needs_revision', 'checker_retry', 'task_setup_blocked')),
    CONSTRAINT checker_runs_outcome_source_valid CHECK (outcome_source IN ('auto_checker')),
    CONSTRAINT checker_runs_trigger_source_valid CHECK (trigger_source IN (
        'submission_locked', 'retry', 'manual_checker_trigger', 'coordinated_evaluation', 'submission_finalized')),
    CONSTRAINT checker_runs_trigger_reason_length CHECK (char_length(trigger_reason) BETWEEN 1 AND 500),
    CONSTRAINT checker_runs_attempt_positive CHECK (attempt_number >= 1),
    CONSTRAINT checker_runs_attempt_chain CHECK ((attempt_number = 1) = (supersedes_checker_run_id IS NULL)),
    CONSTRAINT checker_runs_request_digest_format CHECK (request_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT checker_runs_result_digest_format CHECK (result_digest ~ '^sha256:[0-9a-f]{64}$'),
    -- Infrastructure codes (docs/checkers.md, "Failure codes"); never a pass.
    CONSTRAINT checker_runs_failure_code_valid CHECK (failure_code IN (
        'deadline_exceeded', 'capacity_exceeded', 'invalid_output',
        'implementation_unavailable', 'material_unavailable')),
    CONSTRAINT checker_runs_limits_object CHECK (jsonb_typeof(limits) = 'object'),
    CONSTRAINT checker_runs_runner_version_length CHECK (char_length(runner_version) BETWEEN 1 AND 100),
    CONSTRAINT checker_runs_status_shape CHECK (
        (status = 'queued' AND routing_recommendation = 'not_evaluated' AND started_at IS NULL
         AND completed_at IS NULL AND result_digest IS NULL AND failure_code IS NULL)
        OR (status = 'running' AND routing_recommendation = 'not_evaluated' AND started_at IS NOT NULL
         AND completed_at IS NULL AND result_digest IS NULL AND failure_code IS NULL)
        OR (status = 'completed' AND routing_recommendation <> 'not_evaluated'
         AND completed_at IS NOT NULL AND result_digest IS NOT NULL)
        -- Errored (platform problem): a closed failure code, and route checker_retry.
        OR (status = 'failed' AND routing_recommendation = 'checker_retry'
         AND completed_at IS NOT NULL AND failure_code IS NOT NULL)),
    CONSTRAINT checker_runs_submission_fk
        FOREIGN KEY (submission_id, task_id, submission_version, packet_digest, policy_hash)
        REFERENCES submissions (id, task_id, version, manifest_digest, locked_checker_policy_hash),
    CONSTRAINT checker_runs_submission_attempt_key UNIQUE (submission_id, attempt_number),
    CONSTRAINT checker_runs_supersedes_key UNIQUE (supersedes_checker_run_id),
    CONSTRAINT checker_runs_submission_key UNIQUE (id, submission_id),
    CONSTRAINT checker_runs_task_key UNIQUE (id, task_id)
);

ALTER TABLE checker_runs
    ADD CONSTRAINT checker_runs_supersedes_fk FOREIGN KEY (supersedes_checker_run_id, submission_id)
    REFERENCES checker_runs (id, submission_id);

-- Remediation source of a submission: a run of the same task.
ALTER TABLE submissions
    ADD CONSTRAINT submissions_remediation_run_fk FOREIGN KEY (remediation_source_checker_run_id, task_id)
    REFERENCES checker_runs (id, task_id);

CREATE UNIQUE INDEX checker_runs_one_current_per_submission
    ON checker_runs (submission_id) WHERE is_current_for_submission;
CREATE INDEX checker_runs_task_idx ON checker_runs (task_id, created_at);

CREATE FUNCTION checker_runs_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- Older versions never get new runs (docs/checkers.md, "Immutability and versions"; AS28).
        IF EXISTS (SELECT 1 FROM submissions WHERE task_id = NEW.task_id AND version > NEW.submission_version) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'checker_runs_latest_submission',
                'only the latest submission version can be checked');
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.is_current_for_submission = false AND NEW.is_current_for_submission THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, 'UPDATE making a superseded run current again');
    END IF;
    IF OLD.status IN ('completed', 'failed') THEN
        -- [I*]: a finished run is evidence; only its currency may be dropped by a retry.
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
            ARRAY['is_current_for_submission'], 'a finished checker run is immutable');
        RETURN NEW;
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['status', 'routing_recommendation', 'is_current_for_submission', 'result_digest',
              'failure_code', 'limits', 'runner_version', 'started_at', 'completed_at'],
        'the identity and bindings of a checker run never change');
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
           (OLD.status = 'queued'  AND NEW.status IN ('running', 'failed'))
        OR (OLD.status = 'running' AND NEW.status IN ('completed', 'failed'))) THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER checker_runs_freeze BEFORE INSERT OR UPDATE OR DELETE ON checker_runs
    FOR EACH ROW EXECUTE FUNCTION checker_runs_guard();
CREATE TRIGGER checker_runs_no_truncate BEFORE TRUNCATE ON checker_runs
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();

-- One checker's verdict within a run: which component (digest) ran with which
-- configuration (hash), what it found, what it cost (fuel, duration) and the verdict the
-- host derived; status passed|warning|failed after the policy's severity rules, or errored
-- for an infrastructure failure (closed code, no verdict, never a pass). Ordered by
-- ordinal; a checker appears once per configuration per run. [I]; results are appended
-- only while the run is running, so a finished run cannot gain evidence (trigger).
CREATE TABLE checker_results (
    id                 uuid PRIMARY KEY,
    checker_run_id     uuid NOT NULL REFERENCES checker_runs (id),
    ordinal            integer NOT NULL,
    checker_digest     text NOT NULL REFERENCES checker_components (digest),
    checker_name       text NOT NULL,
    checker_version    text NOT NULL,
    config             jsonb NOT NULL DEFAULT '{}'::jsonb,
    config_hash        text NOT NULL,
    status             text NOT NULL,
    severity           text NOT NULL,
    blocks_review      boolean NOT NULL DEFAULT false,
    verdict            text,
    failure_code       text,
    findings           jsonb NOT NULL DEFAULT '[]'::jsonb,
    summary            text,
    contributor_visible boolean NOT NULL DEFAULT true,
    fuel_consumed      bigint,
    duration_us        bigint,
    result_digest      text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT checker_results_ordinal_nonnegative CHECK (ordinal >= 0),
    CONSTRAINT checker_results_checker_name_length CHECK (char_length(checker_name) BETWEEN 1 AND 100),
    CONSTRAINT checker_results_checker_version_length CHECK (char_length(checker_version) BETWEEN 1 AND 64),
    CONSTRAINT checker_results_config_object CHECK (jsonb_typeof(config) = 'object'),
    CONSTRAINT checker_results_config_hash_format CHECK (config_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT checker_results_status_valid CHECK (status IN ('passed', 'warning', 'failed', 'errored')),
    CONSTRAINT checker_results_severity_valid CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    CONSTRAINT checker_results_verdict_valid CHECK (verdict IN ('passed', 'failed')),
    CONSTRAINT checker_results_failure_code_valid CHECK (failure_code IN (
        'deadline_exceeded', 'capacity_exceeded', 'invalid_output',
        'implementation_unavailable', 'material_unavailable')),
    -- Errored <=> no verdict <=> an infrastructure code; a pass is a passed verdict.
    CONSTRAINT checker_results_errored_shape CHECK (
        (status = 'errored') = (verdict IS NULL) AND (status = 'errored') = (failure_code IS NOT NULL)),
    CONSTRAINT checker_results_passed_shape CHECK (status <> 'passed' OR (verdict = 'passed' AND NOT blocks_review)),
    CONSTRAINT checker_results_findings_array CHECK (jsonb_typeof(findings) = 'array'),
    CONSTRAINT checker_results_summary_length CHECK (char_length(summary) <= 4000),
    CONSTRAINT checker_results_fuel_nonnegative CHECK (fuel_consumed >= 0),
    CONSTRAINT checker_results_duration_nonnegative CHECK (duration_us >= 0),
    CONSTRAINT checker_results_result_digest_format CHECK (result_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT checker_results_run_ordinal_key UNIQUE (checker_run_id, ordinal),
    CONSTRAINT checker_results_run_checker_key UNIQUE (checker_run_id, checker_digest, config_hash)
);
SELECT workstream_make_append_only('checker_results');

CREATE FUNCTION checker_results_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM checker_runs WHERE id = NEW.checker_run_id AND status = 'running') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'checker_results_run_running',
            'results are recorded only while their run is running');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER checker_results_check_insert BEFORE INSERT ON checker_results
    FOR EACH ROW EXECUTE FUNCTION checker_results_check_insert();
