-- One copy of every state machine: the guards ask the domain's transition tables.
--
-- Until now each guard below wrote its machine's permitted moves inline, a second copy
-- of the tables in crates/workstream-domain/src/lifecycle/transition.rs and
-- crates/workstream-domain/src/machines/, and the copies had drifted (the database let a
-- queued checker run fail without running, a draft contribution policy retire, a closed
-- queue entry reopen; it checked no routing column at all, while the domain had no
-- `retired` adapter binding). Now the moves are rows of workstream_state_moves, which
-- the migrator fills from the domain's tables every time it runs
-- (crates/workstream-store/src/state_moves.rs), and every guard asks
-- workstream_check_move first, before any other rule of its row. A table left empty
-- refuses every move: the rules fail closed.
--
-- tests/state_moves.rs of workstream-store drives every pair of states of every machine
-- through these triggers: a listed move passes the check, every other pair is refused
-- with WS002.
--
-- Not guarded here, on purpose: compensation_status_projections. A projection is
-- rebuilt from its award's facts (deliveries and receipts, append-only and guarded),
-- and reconciliation may repair it to whatever the facts say; the delivery and
-- fulfilment machines are kept by those facts, not by the projection row.

CREATE TABLE workstream_state_moves (
    machine    text NOT NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    PRIMARY KEY (machine, from_state, to_state),
    CONSTRAINT workstream_state_moves_not_a_stay CHECK (from_state <> to_state)
);

COMMENT ON TABLE workstream_state_moves IS
    'Every permitted (from, to) move of each state machine, written by the migrator from '
    'the domain''s transition tables; the row guards refuse any other move with WS002.';

-- Refuses, with WS002, a change of a status column that is not a move of `machine`.
-- Staying in place is not a move.
CREATE FUNCTION workstream_check_move(tbl text, machine text, from_state text, to_state text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF from_state IS DISTINCT FROM to_state AND NOT EXISTS (
           SELECT 1 FROM workstream_state_moves m
           WHERE m.machine = workstream_check_move.machine
             AND m.from_state = workstream_check_move.from_state
             AND m.to_state = workstream_check_move.to_state) THEN
        PERFORM workstream_reject_transition(tbl, coalesce(from_state, 'none'), coalesce(to_state, 'none'));
    END IF;
END;
$$;

-- projects_guard: as in 0001_foundation.sql, its moves asked of project_status.
CREATE OR REPLACE FUNCTION projects_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_check_move(TG_TABLE_NAME, 'project_status', OLD.status, NEW.status);
    RETURN NEW;
END;
$$;

-- project_compensation_adapter_bindings_guard: as in 0011_fast_row_guards.sql, its moves
-- asked of adapter_binding_status.
CREATE OR REPLACE FUNCTION project_compensation_adapter_bindings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_check_move(TG_TABLE_NAME, 'adapter_binding_status', OLD.status, NEW.status);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM actor_profiles WHERE id = NEW.adapter_actor_id AND kind = 'service') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_compensation_adapter_bindings_adapter_service',
            'the adapter of a binding must be a service actor');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['status', 'binding_lifecycle_version', 'updated_at'],
            'a binding changes only its status');
        IF NEW.status IS DISTINCT FROM OLD.status
           AND NEW.binding_lifecycle_version <> OLD.binding_lifecycle_version + 1 THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME,
                'project_compensation_adapter_bindings_version_bumped',
                'each status change must bump binding_lifecycle_version by one');
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

-- contribution_policies_guard: as in 0002_policies_and_guides.sql, its moves asked of
-- contribution_policy_status.
CREATE OR REPLACE FUNCTION contribution_policies_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_check_move(TG_TABLE_NAME, 'contribution_policy_status', OLD.status, NEW.status);
    END IF;
    IF NEW.current_published_version_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM contribution_policy_versions
        WHERE id = NEW.current_published_version_id AND status = 'published') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_policies_current_version_published',
            'the current version of a policy must be published');
    END IF;
    RETURN NEW;
END;
$$;

-- contribution_policy_versions_guard: as in 0011_fast_row_guards.sql, its moves asked of
-- contribution_policy_version_status.
CREATE OR REPLACE FUNCTION contribution_policy_versions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
        END IF;
        RETURN OLD;
    END IF;
    PERFORM workstream_check_move(TG_TABLE_NAME, 'contribution_policy_version_status', OLD.status, NEW.status);
    IF OLD.status = 'draft' THEN
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
    RETURN NEW;
END;
$$;

-- project_guides_guard: as in 0011_fast_row_guards.sql, its moves asked of guide_status.
CREATE OR REPLACE FUNCTION project_guides_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_check_move(TG_TABLE_NAME, 'guide_status', OLD.status, NEW.status);
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.status <> 'draft' THEN
        -- [I*]: once active, the content and the bundle never change (R6, AS06, AS07).
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['status', 'superseded_at', 'updated_at'],
            'an activated guide is immutable except for its supersession');
        RETURN NEW;
    END IF;

    -- A guide is born a draft or active (activation inserting it), never superseded.
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

-- tasks_guard: as in 0011_fast_row_guards.sql, its moves (T1-T17, docs/lifecycle.md)
-- asked of task_state.
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
        PERFORM workstream_check_move(TG_TABLE_NAME, 'task_state', OLD.status, NEW.status);

        IF NEW.project_id <> OLD.project_id OR NEW.created_by <> OLD.created_by
           OR NEW.created_at <> OLD.created_at THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, 'UPDATE of task identity');
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

-- task_assignments_guard: as in 0011_fast_row_guards.sql, its moves asked of
-- assignment_status.
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
    PERFORM workstream_check_move(TG_TABLE_NAME, 'assignment_status', OLD.status, NEW.status);
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['status', 'blocking_review_id', 'status_reason', 'accepted_at', 'released_at',
              'submitter_contribution_policy_version_id', 'updated_at'],
        'task, contributor and assigner of an assignment never change');
    IF OLD.status <> 'active' AND NEW.submitter_contribution_policy_version_id
            IS DISTINCT FROM OLD.submitter_contribution_policy_version_id THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, 'UPDATE of a closed assignment''s policy');
    END IF;
    RETURN NEW;
END;
$$;

-- submission_bundle_admissions_guard: as in 0011_fast_row_guards.sql, its moves asked of
-- admission_state.
CREATE OR REPLACE FUNCTION submission_bundle_admissions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_check_move(TG_TABLE_NAME, 'admission_state', OLD.state, NEW.state);
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['state', 'consumed_at', 'stale_at', 'stale_reason'],
        'an admission only moves ready -> consumed | stale');
    RETURN NEW;
END;
$$;

-- checker_runs_guard: as in 0011_fast_row_guards.sql, its status asked of
-- checker_run_status and its routing of routing_recommendation.
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
    PERFORM workstream_check_move(TG_TABLE_NAME, 'checker_run_status', OLD.status, NEW.status);
    PERFORM workstream_check_move(TG_TABLE_NAME, 'routing_recommendation',
        OLD.routing_recommendation, NEW.routing_recommendation);
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
    RETURN NEW;
END;
$$;

-- review_queue_entries_guard: as in 0011_fast_row_guards.sql, its state asked of
-- queue_entry_state and its routing of queue_routing. A closed entry stays closed: a
-- submission admitted again gets a new entry.
CREATE OR REPLACE FUNCTION review_queue_entries_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_check_move(TG_TABLE_NAME, 'queue_entry_state', OLD.state, NEW.state);
        PERFORM workstream_check_move(TG_TABLE_NAME, 'queue_routing', OLD.routing, NEW.routing);
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['state', 'routing', 'preference_expires_at', 'admitting_checker_run_id',
                  'closed_at', 'closed_reason', 'updated_at'],
            'a queue entry keeps its submission, preference and age');
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

-- review_leases_guard: as in 0011_fast_row_guards.sql, its moves asked of
-- review_lease_disposition.
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
    PERFORM workstream_check_move(TG_TABLE_NAME, 'review_lease_disposition', OLD.disposition, NEW.disposition);
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['disposition', 'ended_at', 'ended_by', 'end_reason'],
        'a lease only ends');
    RETURN NEW;
END;
$$;

-- project_lessons_guard: as in 0005_outcomes.sql, its moves asked of lesson_status.
CREATE OR REPLACE FUNCTION project_lessons_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM workstream_check_move(TG_TABLE_NAME, 'lesson_status', OLD.status, NEW.status);
    RETURN NEW;
END;
$$;
