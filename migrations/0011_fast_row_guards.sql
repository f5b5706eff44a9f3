-- The row guards at the cost of a comparison, not of two JSON documents.
--
-- Every guard that lets only some columns of a row change called
-- workstream_assert_only_changed with to_jsonb(OLD) and to_jsonb(NEW): each UPDATE of a
-- task, a run, an admission or a lease turned both row images (locked policies,
-- manifests, stored requests included) into JSON and compared them key by key. On the
-- lifecycle bench that was the largest share of the database's time per transition
-- (an UPDATE of a task took 1.2 ms, README "Benchmarks").
--
-- Now the guards pass the rows themselves. The new overload clears the allowed columns
-- of both images (jsonb_populate_record with a null per allowed column) and compares
-- the rest as records, column by column with each type's own equality; only when they
-- differ does it build the JSON images, to name the columns in its refusal (the same
-- WS001 error as before). The task guard compares its lock columns directly. The
-- rules are unchanged: the trigger bodies below are those of the earlier migrations
-- with OLD and NEW passed as rows.

CREATE FUNCTION workstream_assert_only_changed(
    tbl text, trigger_name text, old_row anyelement, new_row anyelement, allowed text[], why text
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cleared constant jsonb := (SELECT jsonb_object_agg(c, NULL) FROM unnest(allowed) AS c);
BEGIN
    IF jsonb_populate_record(old_row, cleared) IS NOT DISTINCT FROM
       jsonb_populate_record(new_row, cleared) THEN
        RETURN;
    END IF;
    PERFORM workstream_assert_only_changed(tbl, trigger_name, to_jsonb(old_row),
        to_jsonb(new_row), allowed, why);
END;
$$;

-- actor_profiles_guard: as in 0001_foundation.sql.
CREATE OR REPLACE FUNCTION actor_profiles_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['status', 'display_name', 'contact_email', 'updated_at', 'last_seen_at',
              'status_changed_at', 'status_changed_by', 'status_reason'],
        'identity anchor (id, kind, service identity, creation) is immutable');
    IF OLD.status = 'deactivated' AND NEW.status <> 'deactivated' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

-- actor_identity_links_guard: as in 0001_foundation.sql.
CREATE OR REPLACE FUNCTION actor_identity_links_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['status', 'last_verified_at', 'revoked_at', 'revoked_by', 'revoke_reason', 'updated_at'],
        'the (issuer, subject) -> profile anchor is never rebound');
    RETURN NEW;
END;
$$;

-- workstream_grant_guard: as in 0001_foundation.sql.
CREATE OR REPLACE FUNCTION workstream_grant_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['status', 'revoked_at', 'revoked_by', 'revoke_reason'],
        'a grant is immutable except for its revocation');
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'active' AND NEW.status = 'revoked') THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

-- project_compensation_adapter_bindings_guard: as in 0002_policies_and_guides.sql.
CREATE OR REPLACE FUNCTION project_compensation_adapter_bindings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM actor_profiles WHERE id = NEW.adapter_actor_id AND kind = 'service') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_compensation_adapter_bindings_adapter_service',
            'the adapter of a binding must be a service actor');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['status', 'binding_lifecycle_version', 'updated_at'],
            'a binding changes only its status');
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            IF OLD.status = 'retired' THEN
                PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
            END IF;
            IF NEW.binding_lifecycle_version <> OLD.binding_lifecycle_version + 1 THEN
                PERFORM workstream_reject_invalid(TG_TABLE_NAME,
                    'project_compensation_adapter_bindings_version_bumped',
                    'each status change must bump binding_lifecycle_version by one');
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

-- contribution_policy_versions_guard: as in 0002_policies_and_guides.sql.
CREATE OR REPLACE FUNCTION contribution_policy_versions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        IF NEW.status = 'retired' THEN
            PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
        END IF;
        IF NEW.status = 'published' THEN
            -- Exactly one rule per contribution type in each publishable version, and a compensated
            -- rule pays through 1-2 definitions (docs/glossary.md, "Contribution rule").
            IF (SELECT count(*) FROM contribution_rules WHERE version_id = NEW.id) <> 2 THEN
                PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_policy_versions_complete',
                    'a published version needs one rule for each contribution type');
            END IF;
            IF EXISTS (SELECT 1 FROM contribution_rules r
                       WHERE r.version_id = NEW.id AND r.compensation_mode = 'compensated'
                         AND NOT EXISTS (SELECT 1 FROM contribution_award_definitions d WHERE d.rule_id = r.id)) THEN
                PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_policy_versions_complete',
                    'a compensated rule needs at least one award definition');
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    -- Published or retired: [I*].
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['status', 'retired_by', 'retired_at', 'updated_at'],
        'a published contribution policy version is immutable except for its retirement');
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'published' AND NEW.status = 'retired') THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

-- project_guides_guard: as in 0002_policies_and_guides.sql.
CREATE OR REPLACE FUNCTION project_guides_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
        END IF;
        RETURN OLD;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.status <> 'draft' THEN
        -- [I*]: once active, the content and the bundle never change (R6, AS06, AS07).
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['status', 'superseded_at', 'updated_at'],
            'an activated guide is immutable except for its supersession');
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'active' AND NEW.status = 'superseded') THEN
            PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
        END IF;
        RETURN NEW;
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.status = 'superseded' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.status = 'superseded' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, 'none', NEW.status);
    END IF;

    IF NEW.status = 'active' THEN
        -- Activation (draft -> active, or inserted active): the sequence only grows ...
        IF EXISTS (SELECT 1 FROM project_guides
                   WHERE project_id = NEW.project_id AND id <> NEW.id
                     AND activation_sequence >= NEW.activation_sequence) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_guides_activation_sequence_increasing',
                'activation_sequence must exceed every earlier activation of the project');
        END IF;
        -- ... and the selected contribution policy version is the current published version
        -- of the project's active policy (R4, R5, AS03).
        IF NOT EXISTS (SELECT 1 FROM contribution_policies p
                       JOIN contribution_policy_versions v ON v.id = p.current_published_version_id
                       WHERE p.project_id = NEW.project_id AND p.status = 'active'
                         AND v.status = 'published' AND v.id = NEW.contribution_policy_version_id) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_guides_contribution_policy_current',
                'activation needs the current published version of the project''s active contribution policy');
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

-- tasks_guard: as in 0003_tasks_and_submissions.sql.
CREATE OR REPLACE FUNCTION tasks_guard() RETURNS trigger
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
        IF OLD.status NOT IN ('draft', 'screening') AND NEW.status <> 'needs_revision'
           AND ROW(OLD.locked_guide_id, OLD.locked_guide_version, OLD.locked_guide_activation_sequence,
                   OLD.locked_policy_bundle_hash, OLD.locked_artifact_policy_hash,
                   OLD.locked_checker_policy, OLD.locked_checker_policy_hash,
                   OLD.locked_review_policy_hash, OLD.locked_revision_policy_hash,
                   OLD.locked_contribution_policy_version_id, OLD.locked_at)
               IS DISTINCT FROM
               ROW(NEW.locked_guide_id, NEW.locked_guide_version, NEW.locked_guide_activation_sequence,
                   NEW.locked_policy_bundle_hash, NEW.locked_artifact_policy_hash,
                   NEW.locked_checker_policy, NEW.locked_checker_policy_hash,
                   NEW.locked_review_policy_hash, NEW.locked_revision_policy_hash,
                   NEW.locked_contribution_policy_version_id, NEW.locked_at) THEN
            SELECT coalesce(array_agg(c), '{}') INTO changed
            FROM unnest(workstream_changed_columns(to_jsonb(OLD), to_jsonb(NEW))) AS c
            WHERE c = ANY (lock_columns);
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

-- task_assignments_guard: as in 0003_tasks_and_submissions.sql.
CREATE OR REPLACE FUNCTION task_assignments_guard() RETURNS trigger
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
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
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

-- submission_bundle_admissions_guard: as in 0003_tasks_and_submissions.sql.
CREATE OR REPLACE FUNCTION submission_bundle_admissions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['state', 'consumed_at', 'stale_at', 'stale_reason'],
        'an admission only moves ready -> consumed | stale');
    IF NEW.state IS DISTINCT FROM OLD.state AND OLD.state <> 'ready' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.state, NEW.state);
    END IF;
    RETURN NEW;
END;
$$;

-- checker_runs_guard: as in 0009_checker_requests.sql.
CREATE OR REPLACE FUNCTION checker_runs_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- Older versions can never get new runs: only the latest version is evaluated.
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
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['is_current_for_submission'], 'a finished checker run is immutable');
        RETURN NEW;
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['status', 'routing_recommendation', 'is_current_for_submission', 'result_digest',
              'failure_code', 'limits', 'runner_version', 'started_at', 'completed_at',
              'request', 'failure_detail'],
        'the identity and bindings of a checker run never change');
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
           (OLD.status = 'queued'  AND NEW.status IN ('running', 'failed'))
        OR (OLD.status = 'running' AND NEW.status IN ('completed', 'failed'))) THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

-- review_queue_entries_guard: as in 0004_review.sql.
CREATE OR REPLACE FUNCTION review_queue_entries_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['state', 'routing', 'preference_expires_at', 'admitting_checker_run_id',
                  'closed_at', 'closed_reason', 'updated_at'],
            'a queue entry keeps its submission, preference and age');
        IF OLD.state = 'closed' AND NEW.state = 'pending'
           AND NEW.admitting_checker_run_id = OLD.admitting_checker_run_id THEN
            PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.state, NEW.state);
        END IF;
        IF OLD.routing = 'open' AND NEW.routing = 'preferred' THEN
            PERFORM workstream_reject_transition(TG_TABLE_NAME, 'routing ' || OLD.routing, NEW.routing);
        END IF;
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.admitting_checker_run_id IS DISTINCT FROM OLD.admitting_checker_run_id)
       AND NOT EXISTS (SELECT 1 FROM checker_runs
                       WHERE id = NEW.admitting_checker_run_id AND is_current_for_submission
                         AND status = 'completed' AND routing_recommendation = 'allow_review') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'review_queue_entries_admitting_run_allows_review',
            'only the current completed allow_review run admits a submission to review (R20)');
    END IF;
    RETURN NEW;
END;
$$;

-- review_leases_guard: as in 0004_review.sql.
CREATE OR REPLACE FUNCTION review_leases_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM actor_profiles WHERE id = NEW.reviewer_id AND kind = 'human') THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'review_leases_reviewer_human',
                'reviewers are human actors');
        END IF;
        -- R25: the submitter of any version of the task is never its reviewer.
        IF EXISTS (SELECT 1 FROM submissions s
                   JOIN submissions leased ON leased.task_id = s.task_id
                   WHERE leased.id = NEW.submission_id AND s.contributor_id = NEW.reviewer_id) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'review_leases_no_self_review',
                'a submitter cannot review their own submission chain');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM submissions WHERE id = NEW.submission_id
                       AND contribution_policy_version_id = NEW.reviewer_contribution_policy_version_id) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'review_leases_policy_copied_from_submission',
                'the lease copies the submission''s contribution policy version');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM review_queue_entries WHERE id = NEW.queue_entry_id AND state = 'pending') THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'review_leases_entry_pending',
                'leases are issued only on pending queue entries');
        END IF;
        RETURN NEW;
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['disposition', 'ended_at', 'ended_by', 'end_reason'],
        'a lease only ends');
    IF NEW.disposition IS DISTINCT FROM OLD.disposition AND OLD.disposition <> 'active' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.disposition, NEW.disposition);
    END IF;
    RETURN NEW;
END;
$$;
