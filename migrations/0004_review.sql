-- 0004_review.sql
--
-- Workstream schema, part 4 of 5: the review queue and leases, review packet manifests,
-- immutable reviews with findings, revision replay (responses, resolutions, revision context
-- preparations) and the final acceptance
-- (docs/lifecycle.md, "The review decision transaction"; T8-T15, R24-R38).
--
-- Error codes: see the header of 0001_foundation.sql (WS001 immutable, WS002 transition,
-- 23514 named cross-row checks).

-- ---------------------------------------------------------------------------------------
-- Review queue (docs/lifecycle.md, "Review queue entry"; R20, R26, R35)
-- ---------------------------------------------------------------------------------------

-- One entry per submission (UNIQUE), created only from the submission's current, completed
-- allow_review run (trigger; R20, T8, AS19). Routing is open, or preferred for the reviewer
-- who asked for the revision until preference_expires_at (R35, AS41). Queue age
-- (enqueued_at) is never reset. [I] except state, routing and close-out; a closed entry
-- reopens only with a new admitting run (re-evaluation, T10).
CREATE TABLE review_queue_entries (
    id                       uuid PRIMARY KEY,
    project_id               uuid NOT NULL,
    task_id                  uuid NOT NULL,
    submission_id            uuid NOT NULL,
    submission_version       integer NOT NULL,
    admitting_checker_run_id uuid NOT NULL,
    state                    text NOT NULL DEFAULT 'pending',
    routing                  text NOT NULL DEFAULT 'open',
    routing_reason           text NOT NULL DEFAULT 'first_submission',
    preferred_reviewer_id    uuid REFERENCES actor_profiles (id),
    preference_expires_at    timestamptz,
    enqueued_at              timestamptz NOT NULL DEFAULT now(),
    closed_at                timestamptz,
    closed_reason            text,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT review_queue_entries_state_valid CHECK (state IN ('pending', 'closed')),
    CONSTRAINT review_queue_entries_routing_valid CHECK (routing IN ('open', 'preferred')),
    CONSTRAINT review_queue_entries_routing_reason_valid
        CHECK (routing_reason IN ('first_submission', 'revision_return', 'checker_remediation_return',
                                  'admin_assignment')),
    CONSTRAINT review_queue_entries_preferred_shape CHECK (
        routing <> 'preferred' OR (preferred_reviewer_id IS NOT NULL AND preference_expires_at IS NOT NULL)),
    CONSTRAINT review_queue_entries_preference_after_enqueue
        CHECK (preference_expires_at IS NULL OR preference_expires_at > enqueued_at),
    CONSTRAINT review_queue_entries_closed_reason_valid
        CHECK (closed_reason IN ('review_recorded', 'task_closed', 'admin_cancelled', 're_evaluation')),
    CONSTRAINT review_queue_entries_closed_shape CHECK (
        (state = 'closed') = (closed_at IS NOT NULL AND closed_reason IS NOT NULL)),
    CONSTRAINT review_queue_entries_task_fk FOREIGN KEY (task_id, project_id) REFERENCES tasks (id, project_id),
    CONSTRAINT review_queue_entries_submission_fk FOREIGN KEY (submission_id, task_id, submission_version)
        REFERENCES submissions (id, task_id, version),
    CONSTRAINT review_queue_entries_admitting_run_fk FOREIGN KEY (admitting_checker_run_id, submission_id)
        REFERENCES checker_runs (id, submission_id),
    CONSTRAINT review_queue_entries_submission_key UNIQUE (submission_id),
    CONSTRAINT review_queue_entries_lease_target_key UNIQUE (id, submission_id)
);

-- Offer path: oldest pending entry of a project first.
CREATE INDEX review_queue_entries_pending_idx ON review_queue_entries (project_id, enqueued_at)
    WHERE state = 'pending';

CREATE FUNCTION review_queue_entries_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
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

CREATE TRIGGER review_queue_entries_guard BEFORE INSERT OR UPDATE OR DELETE ON review_queue_entries
    FOR EACH ROW EXECUTE FUNCTION review_queue_entries_guard();
CREATE TRIGGER review_queue_entries_no_truncate BEFORE TRUNCATE ON review_queue_entries
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER review_queue_entries_touch_updated_at BEFORE UPDATE ON review_queue_entries
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Review leases (docs/lifecycle.md, "Review lease"; R25, R26)
-- ---------------------------------------------------------------------------------------

-- R26: a reviewer holds at most one active lease and a queue entry has at most one active
-- lease (two partial uniques); expires_at > issued_at. The reviewer is a human who
-- submitted no version of the task (no self-review, R25, AS24; trigger), the entry is
-- pending, and the lease copies the submission's contribution policy version (trigger;
-- docs/lifecycle.md, "Locked context"). active -> consumed | released | declined | expired |
-- invalidated, each terminal (an Operator force-release is `released`).
CREATE TABLE review_leases (
    id                                      uuid PRIMARY KEY,
    queue_entry_id                          uuid NOT NULL,
    submission_id                           uuid NOT NULL,
    reviewer_id                             uuid NOT NULL REFERENCES actor_profiles (id),
    reviewer_contribution_policy_version_id uuid NOT NULL REFERENCES contribution_policy_versions (id),
    disposition                             text NOT NULL DEFAULT 'active',
    issued_at                               timestamptz NOT NULL DEFAULT now(),
    expires_at                              timestamptz NOT NULL,
    ended_at                                timestamptz,
    ended_by                                uuid REFERENCES actor_profiles (id),
    end_reason                              text,
    CONSTRAINT review_leases_disposition_valid CHECK (disposition IN (
        'active', 'consumed', 'released', 'declined', 'expired', 'invalidated')),
    CONSTRAINT review_leases_expiry_after_issue CHECK (expires_at > issued_at),
    CONSTRAINT review_leases_ended_shape CHECK ((disposition = 'active') = (ended_at IS NULL)),
    CONSTRAINT review_leases_end_reason_length CHECK (char_length(end_reason) BETWEEN 1 AND 500),
    CONSTRAINT review_leases_entry_fk FOREIGN KEY (queue_entry_id, submission_id)
        REFERENCES review_queue_entries (id, submission_id),
    CONSTRAINT review_leases_submission_key UNIQUE (id, submission_id),
    CONSTRAINT review_leases_review_target_key UNIQUE (id, submission_id, reviewer_id),
    CONSTRAINT review_leases_policy_key UNIQUE (id, reviewer_id, reviewer_contribution_policy_version_id)
);

CREATE UNIQUE INDEX review_leases_one_active_per_entry ON review_leases (queue_entry_id)
    WHERE disposition = 'active';
CREATE UNIQUE INDEX review_leases_one_active_per_reviewer ON review_leases (reviewer_id)
    WHERE disposition = 'active';
CREATE INDEX review_leases_expiry_idx ON review_leases (expires_at) WHERE disposition = 'active';

CREATE FUNCTION review_leases_guard() RETURNS trigger
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
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['disposition', 'ended_at', 'ended_by', 'end_reason'],
        'a lease only ends');
    IF NEW.disposition IS DISTINCT FROM OLD.disposition AND OLD.disposition <> 'active' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.disposition, NEW.disposition);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER review_leases_guard BEFORE INSERT OR UPDATE OR DELETE ON review_leases
    FOR EACH ROW EXECUTE FUNCTION review_leases_guard();
CREATE TRIGGER review_leases_no_truncate BEFORE TRUNCATE ON review_leases
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();

-- What the reviewer was shown when the lease was issued: submission, admitting run and its
-- results, stamped context, packet file list, guide documents (metadata only) and a
-- semantic digest. [I], one per lease (R27).
CREATE TABLE review_packet_manifests (
    id                       uuid PRIMARY KEY,
    review_lease_id          uuid NOT NULL,
    submission_id            uuid NOT NULL,
    admitting_checker_run_id uuid NOT NULL,
    manifest                 jsonb NOT NULL,
    manifest_digest          text NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT review_packet_manifests_manifest_object CHECK (jsonb_typeof(manifest) = 'object'),
    CONSTRAINT review_packet_manifests_digest_format CHECK (manifest_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT review_packet_manifests_lease_fk FOREIGN KEY (review_lease_id, submission_id)
        REFERENCES review_leases (id, submission_id),
    CONSTRAINT review_packet_manifests_run_fk FOREIGN KEY (admitting_checker_run_id, submission_id)
        REFERENCES checker_runs (id, submission_id),
    CONSTRAINT review_packet_manifests_lease_key UNIQUE (review_lease_id)
);
SELECT workstream_make_append_only('review_packet_manifests');

-- ---------------------------------------------------------------------------------------
-- Reviews and findings (docs/lifecycle.md, "Review (R24-R31)"; R24, R28, R29, R32)
-- ---------------------------------------------------------------------------------------

-- One immutable decision per lease (UNIQUE; AS33), made by the lease holder on the leased
-- submission (composite FK). Decisions are exactly accept | needs_revision | reject (R24).
-- reject needs a bounded reason (R29, AS28); accept cites evidence (R28, AS29). Reviews of a
-- task form one chain through predecessor_review_id (non-branching). At commit (deferred
-- constraint trigger): accept leaves no open blocking finding on the task; needs_revision
-- leaves at least one (R29, R32, AS27, AS36). [I].
CREATE TABLE reviews (
    id                        uuid PRIMARY KEY,
    task_id                   uuid NOT NULL,
    submission_id             uuid NOT NULL,
    review_lease_id           uuid NOT NULL,
    predecessor_review_id     uuid,
    reviewer_id               uuid NOT NULL REFERENCES actor_profiles (id),
    decision                  text NOT NULL,
    summary                   text NOT NULL DEFAULT '',
    reject_reason             text,
    confidence                text,
    acceptance_evidence_refs  jsonb NOT NULL DEFAULT '[]'::jsonb,
    locked_guide_version      text NOT NULL,
    locked_review_policy_hash text NOT NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    completed_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reviews_decision_valid CHECK (decision IN ('accept', 'needs_revision', 'reject')),
    CONSTRAINT reviews_summary_length CHECK (char_length(summary) <= 20000),
    CONSTRAINT reviews_reject_reason_length CHECK (char_length(reject_reason) <= 4000),
    CONSTRAINT reviews_reject_reason_required CHECK (
        decision <> 'reject' OR (reject_reason IS NOT NULL AND btrim(reject_reason) <> '')),
    CONSTRAINT reviews_reject_reason_only_for_reject CHECK (decision = 'reject' OR reject_reason IS NULL),
    CONSTRAINT reviews_confidence_valid CHECK (confidence IN ('low', 'medium', 'high')),
    CONSTRAINT reviews_acceptance_evidence_array CHECK (jsonb_typeof(acceptance_evidence_refs) = 'array'),
    CONSTRAINT reviews_acceptance_evidence_required CHECK (
        decision <> 'accept' OR jsonb_array_length(acceptance_evidence_refs) > 0),
    CONSTRAINT reviews_locked_review_policy_hash_format
        CHECK (locked_review_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT reviews_lease_fk FOREIGN KEY (review_lease_id, submission_id, reviewer_id)
        REFERENCES review_leases (id, submission_id, reviewer_id),
    CONSTRAINT reviews_submission_fk FOREIGN KEY (submission_id, task_id) REFERENCES submissions (id, task_id),
    CONSTRAINT reviews_lease_key UNIQUE (review_lease_id),
    CONSTRAINT reviews_predecessor_key UNIQUE (predecessor_review_id),
    CONSTRAINT reviews_task_key UNIQUE (id, task_id),
    CONSTRAINT reviews_submission_key UNIQUE (id, submission_id),
    CONSTRAINT reviews_reviewer_key UNIQUE (id, submission_id, reviewer_id),
    CONSTRAINT reviews_contribution_source_key UNIQUE (id, submission_id, reviewer_id, review_lease_id)
);
SELECT workstream_make_append_only('reviews');

ALTER TABLE reviews
    ADD CONSTRAINT reviews_predecessor_fk FOREIGN KEY (predecessor_review_id, task_id)
    REFERENCES reviews (id, task_id);

CREATE INDEX reviews_reviewer_idx ON reviews (reviewer_id, completed_at);

-- R31: a reject blocks exactly the same-task assignment, naming its Review.
ALTER TABLE task_assignments
    ADD CONSTRAINT task_assignments_blocking_review_fk FOREIGN KEY (blocking_review_id, task_id)
    REFERENCES reviews (id, task_id);

CREATE FUNCTION reviews_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM review_leases WHERE id = NEW.review_lease_id AND disposition = 'active') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'reviews_lease_active',
            'a decision needs the reviewer''s active lease (R25)');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM submissions WHERE id = NEW.submission_id
                   AND locked_guide_version = NEW.locked_guide_version
                   AND locked_review_policy_hash = NEW.locked_review_policy_hash) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'reviews_locks_match_submission',
            'a review uses the context stamped on the leased submission');
    END IF;
    -- The first review of a task has no predecessor; every later one names the latest.
    IF (NEW.predecessor_review_id IS NULL)
       <> NOT EXISTS (SELECT 1 FROM reviews WHERE task_id = NEW.task_id) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'reviews_predecessor_latest',
            'a review names the latest earlier review of its task as predecessor');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER reviews_check_insert BEFORE INSERT ON reviews
    FOR EACH ROW EXECUTE FUNCTION reviews_check_insert();

-- An issue raised by a review. Blocking findings carry a required fix (R29); there are no
-- severities. An accept review raises no blocking finding (R32; trigger). [I].
CREATE TABLE review_findings (
    id           uuid PRIMARY KEY,
    review_id    uuid NOT NULL REFERENCES reviews (id),
    position     integer NOT NULL,
    finding_kind text NOT NULL,
    area         text NOT NULL,
    issue        text NOT NULL,
    rationale    text,
    required_fix text,
    evidence_ref jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT review_findings_position_positive CHECK (position >= 1),
    CONSTRAINT review_findings_kind_valid CHECK (finding_kind IN ('blocking', 'advisory')),
    CONSTRAINT review_findings_area_length CHECK (char_length(area) BETWEEN 1 AND 200),
    CONSTRAINT review_findings_issue_length CHECK (char_length(btrim(issue)) >= 1 AND char_length(issue) <= 4000),
    CONSTRAINT review_findings_rationale_length CHECK (char_length(rationale) <= 4000),
    CONSTRAINT review_findings_required_fix_length CHECK (char_length(required_fix) <= 4000),
    CONSTRAINT review_findings_blocking_requires_fix CHECK (
        finding_kind <> 'blocking' OR (required_fix IS NOT NULL AND btrim(required_fix) <> '')),
    CONSTRAINT review_findings_review_position_key UNIQUE (review_id, position)
);
SELECT workstream_make_append_only('review_findings');

CREATE FUNCTION review_findings_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.finding_kind = 'blocking'
       AND EXISTS (SELECT 1 FROM reviews WHERE id = NEW.review_id AND decision = 'accept') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'review_findings_no_blocking_on_accept',
            'an accept review cannot raise a blocking finding');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER review_findings_check_insert BEFORE INSERT ON review_findings
    FOR EACH ROW EXECUTE FUNCTION review_findings_check_insert();

-- ---------------------------------------------------------------------------------------
-- Revision context preparations (docs/lifecycle.md, "Revision context preparation"; R33, R34)
-- ---------------------------------------------------------------------------------------

-- Built in the T12 transaction: compares every stamped component of the prior submission
-- with the currently active one (kept | rebased | blocked). One non-branching chain per
-- originating needs_revision review: sequence 1, 2, ... (UNIQUE per review) and at most one
-- successor per preparation (UNIQUE predecessor). The head is the row without successor;
-- a blocked head stops resubmission. [I].
CREATE TABLE revision_context_preparations (
    id                                  uuid PRIMARY KEY,
    task_id                             uuid NOT NULL,
    originating_review_id               uuid NOT NULL,
    source_task_assignment_id           uuid NOT NULL,
    target_task_assignment_id           uuid NOT NULL,
    prior_submission_id                 uuid NOT NULL,
    prior_submission_version            integer NOT NULL,
    next_submission_version             integer NOT NULL,
    -- Every context component, before and after (guide id/version/sequence, bundle and
    -- part hashes, contribution policy version, task execution context).
    prior_context                       jsonb NOT NULL,
    next_context                        jsonb NOT NULL,
    prior_guide_id                      uuid NOT NULL REFERENCES project_guides (id),
    next_guide_id                       uuid REFERENCES project_guides (id),
    prior_policy_bundle_hash            text NOT NULL,
    next_policy_bundle_hash             text,
    prior_contribution_policy_version_id uuid NOT NULL REFERENCES contribution_policy_versions (id),
    next_contribution_policy_version_id uuid REFERENCES contribution_policy_versions (id),
    outcome                             text NOT NULL,
    direction                           text,
    context_digest                      text NOT NULL,
    predecessor_preparation_id          uuid,
    preparation_sequence                integer NOT NULL,
    rebase_reason                       text,
    blocked_reason_code                 text,
    change_summary                      text NOT NULL DEFAULT '',
    prepared_by                         uuid NOT NULL REFERENCES actor_profiles (id),
    audit_event_id                      uuid REFERENCES audit_events (id),
    created_at                          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT revision_context_preparations_next_version CHECK (next_submission_version = prior_submission_version + 1),
    CONSTRAINT revision_context_preparations_contexts_object
        CHECK (jsonb_typeof(prior_context) = 'object' AND jsonb_typeof(next_context) = 'object'),
    CONSTRAINT revision_context_preparations_prior_bundle_hash_format
        CHECK (prior_policy_bundle_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT revision_context_preparations_next_bundle_hash_format
        CHECK (next_policy_bundle_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT revision_context_preparations_outcome_valid CHECK (outcome IN ('kept', 'rebased', 'blocked')),
    CONSTRAINT revision_context_preparations_direction_valid CHECK (direction IN ('forward', 'backward')),
    CONSTRAINT revision_context_preparations_direction_only_rebased CHECK (outcome = 'rebased' OR direction IS NULL),
    -- kept: next equals prior; rebased: a complete next context; blocked: a reason code.
    CONSTRAINT revision_context_preparations_outcome_shape CHECK (
        (outcome = 'kept' AND next_guide_id = prior_guide_id
         AND next_policy_bundle_hash = prior_policy_bundle_hash
         AND next_contribution_policy_version_id = prior_contribution_policy_version_id
         AND blocked_reason_code IS NULL)
        OR (outcome = 'rebased' AND next_guide_id IS NOT NULL AND next_policy_bundle_hash IS NOT NULL
         AND next_contribution_policy_version_id IS NOT NULL AND blocked_reason_code IS NULL)
        OR (outcome = 'blocked' AND blocked_reason_code IS NOT NULL)),
    CONSTRAINT revision_context_preparations_context_digest_format CHECK (context_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT revision_context_preparations_sequence_positive CHECK (preparation_sequence >= 1),
    CONSTRAINT revision_context_preparations_root_shape
        CHECK ((preparation_sequence = 1) = (predecessor_preparation_id IS NULL)),
    CONSTRAINT revision_context_preparations_rebase_reason_length CHECK (char_length(rebase_reason) BETWEEN 1 AND 500),
    CONSTRAINT revision_context_preparations_blocked_reason_code_format
        CHECK (blocked_reason_code ~ '^[a-z][a-z0-9_]{0,99}$'),
    CONSTRAINT revision_context_preparations_change_summary_length CHECK (char_length(change_summary) <= 8000),
    CONSTRAINT revision_context_preparations_review_fk FOREIGN KEY (originating_review_id, prior_submission_id)
        REFERENCES reviews (id, submission_id),
    CONSTRAINT revision_context_preparations_prior_submission_fk
        FOREIGN KEY (prior_submission_id, task_id, prior_submission_version)
        REFERENCES submissions (id, task_id, version),
    CONSTRAINT revision_context_preparations_source_assignment_fk FOREIGN KEY (source_task_assignment_id, task_id)
        REFERENCES task_assignments (id, task_id),
    CONSTRAINT revision_context_preparations_target_assignment_fk FOREIGN KEY (target_task_assignment_id, task_id)
        REFERENCES task_assignments (id, task_id),
    CONSTRAINT revision_context_preparations_review_sequence_key UNIQUE (originating_review_id, preparation_sequence),
    CONSTRAINT revision_context_preparations_predecessor_key UNIQUE (predecessor_preparation_id),
    CONSTRAINT revision_context_preparations_task_key UNIQUE (id, task_id),
    CONSTRAINT revision_context_preparations_chain_key UNIQUE (id, originating_review_id),
    CONSTRAINT revision_context_preparations_digest_key UNIQUE (id, context_digest)
);
SELECT workstream_make_append_only('revision_context_preparations');

ALTER TABLE revision_context_preparations
    ADD CONSTRAINT revision_context_preparations_predecessor_fk
    FOREIGN KEY (predecessor_preparation_id, originating_review_id)
    REFERENCES revision_context_preparations (id, originating_review_id);

-- The human revision path of a submission (R18): a preparation of the same task.
ALTER TABLE submissions
    ADD CONSTRAINT submissions_revision_preparation_fk FOREIGN KEY (revision_context_preparation_id, task_id)
    REFERENCES revision_context_preparations (id, task_id);

CREATE FUNCTION revision_context_preparations_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM reviews WHERE id = NEW.originating_review_id
                   AND task_id = NEW.task_id AND decision = 'needs_revision') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'revision_context_preparations_origin_needs_revision',
            'a preparation originates from a needs_revision review of the same task');
    END IF;
    IF NEW.predecessor_preparation_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM revision_context_preparations
        WHERE id = NEW.predecessor_preparation_id AND preparation_sequence = NEW.preparation_sequence - 1) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'revision_context_preparations_chain',
            'a repair appends exactly one successor with sequence + 1');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER revision_context_preparations_check_insert BEFORE INSERT ON revision_context_preparations
    FOR EACH ROW EXECUTE FUNCTION revision_context_preparations_check_insert();

-- ---------------------------------------------------------------------------------------
-- Responses and resolutions (docs/lifecycle.md, "Revision replay (R32-R36)"; R32, AS34-AS37)
-- ---------------------------------------------------------------------------------------

-- The contributor's answer to one prior finding in one new submission (UNIQUE per
-- finding and submission), echoing the preparation head and digest it was written against
-- (composite FK, R34). The submission must be that preparation's and the finding from the
-- same task (trigger). [I].
CREATE TABLE submission_finding_responses (
    id                  uuid PRIMARY KEY,
    finding_id          uuid NOT NULL REFERENCES review_findings (id),
    new_submission_id   uuid NOT NULL REFERENCES submissions (id),
    task_assignment_id  uuid NOT NULL REFERENCES task_assignments (id),
    preparation_id      uuid NOT NULL,
    preparation_digest  text NOT NULL,
    response_text       text NOT NULL,
    evidence_ref        jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT submission_finding_responses_digest_format CHECK (preparation_digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT submission_finding_responses_text_length
        CHECK (char_length(btrim(response_text)) >= 1 AND char_length(response_text) <= 20000),
    CONSTRAINT submission_finding_responses_preparation_fk FOREIGN KEY (preparation_id, preparation_digest)
        REFERENCES revision_context_preparations (id, context_digest),
    CONSTRAINT submission_finding_responses_finding_submission_key UNIQUE (finding_id, new_submission_id)
);
SELECT workstream_make_append_only('submission_finding_responses');

CREATE FUNCTION submission_finding_responses_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM submissions s
        JOIN review_findings f ON f.id = NEW.finding_id
        JOIN reviews r ON r.id = f.review_id AND r.task_id = s.task_id
        WHERE s.id = NEW.new_submission_id AND s.revision_context_preparation_id = NEW.preparation_id
          AND s.task_assignment_id = NEW.task_assignment_id) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'submission_finding_responses_consistent',
            'a response answers a finding of the same task in a submission built on that preparation');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER submission_finding_responses_check_insert BEFORE INSERT ON submission_finding_responses
    FOR EACH ROW EXECUTE FUNCTION submission_finding_responses_check_insert();

-- The later review's verdict on one prior finding: one per (review, finding) (UNIQUE); a
-- finding closed as resolved or not_applicable can never be closed again (partial unique,
-- AS37). The finding comes from an earlier review of the same task (trigger). [I].
CREATE TABLE finding_resolutions (
    id                     uuid PRIMARY KEY,
    review_id              uuid NOT NULL,
    finding_id             uuid NOT NULL REFERENCES review_findings (id),
    revised_submission_id  uuid NOT NULL,
    result                 text NOT NULL,
    rationale              text NOT NULL,
    evidence_ref           jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT finding_resolutions_result_valid CHECK (result IN ('resolved', 'unresolved', 'not_applicable')),
    CONSTRAINT finding_resolutions_rationale_length
        CHECK (char_length(btrim(rationale)) >= 1 AND char_length(rationale) <= 4000),
    CONSTRAINT finding_resolutions_review_fk FOREIGN KEY (review_id, revised_submission_id)
        REFERENCES reviews (id, submission_id),
    CONSTRAINT finding_resolutions_review_finding_key UNIQUE (review_id, finding_id)
);
SELECT workstream_make_append_only('finding_resolutions');

CREATE UNIQUE INDEX finding_resolutions_closed_once ON finding_resolutions (finding_id)
    WHERE result IN ('resolved', 'not_applicable');

CREATE FUNCTION finding_resolutions_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM reviews later
        JOIN review_findings f ON f.id = NEW.finding_id
        JOIN reviews earlier ON earlier.id = f.review_id
        WHERE later.id = NEW.review_id AND earlier.task_id = later.task_id AND earlier.id <> later.id) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'finding_resolutions_prior_finding',
            'a resolution closes a finding raised by an earlier review of the same task');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER finding_resolutions_check_insert BEFORE INSERT ON finding_resolutions
    FOR EACH ROW EXECUTE FUNCTION finding_resolutions_check_insert();

-- Deferred to commit, so the review, its findings and its resolutions can be written in
-- any order inside one decision (docs/lifecycle.md, "The review decision transaction"). A review
-- is judged by the state of the review chain up to and including itself (its predecessors'
-- findings and resolutions), so later reviews in the same transaction do not change the verdict.
CREATE FUNCTION reviews_check_decision() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    open_blockers integer;
BEGIN
    WITH RECURSIVE chain (id, predecessor_review_id) AS (
        SELECT id, predecessor_review_id FROM reviews WHERE id = NEW.id
        UNION ALL
        SELECT r.id, r.predecessor_review_id FROM reviews r JOIN chain c ON r.id = c.predecessor_review_id
    )
    SELECT count(*) INTO open_blockers
    FROM review_findings f
    WHERE f.review_id IN (SELECT id FROM chain) AND f.finding_kind = 'blocking'
      AND NOT EXISTS (SELECT 1 FROM finding_resolutions x
                      WHERE x.finding_id = f.id AND x.result IN ('resolved', 'not_applicable')
                        AND x.review_id IN (SELECT id FROM chain));
    IF NEW.decision = 'accept' AND open_blockers > 0 THEN
        PERFORM workstream_reject_invalid('reviews', 'reviews_accept_no_open_blocker',
            'accept is possible only when no blocking finding remains open (R32)');
    END IF;
    IF NEW.decision = 'needs_revision' AND open_blockers = 0 THEN
        PERFORM workstream_reject_invalid('reviews', 'reviews_needs_revision_open_blocker',
            'needs_revision requires at least one unresolved blocking finding (R29)');
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER reviews_decision_consistent AFTER INSERT ON reviews
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION reviews_check_decision();

-- ---------------------------------------------------------------------------------------
-- Final acceptance (docs/rules.md: R37, R38)
-- ---------------------------------------------------------------------------------------

-- The one acceptance of a task: UNIQUE per task, per submission and per source review
-- (R37, AS30). Tied to its accepting review of that exact submission, recorded by the
-- reviewer, naming the accepted submitter (composite FKs); the review's decision is accept
-- (trigger). acceptance_source task_post_submit_route is reserved for the gated automatic
-- branch and then has no review. No API creates it directly. [I].
CREATE TABLE final_acceptances (
    id                    uuid PRIMARY KEY,
    project_id            uuid NOT NULL,
    task_id               uuid NOT NULL,
    submission_id         uuid NOT NULL,
    source_review_id      uuid,
    acceptance_source     text NOT NULL DEFAULT 'human_review',
    accepted_submitter_id uuid NOT NULL REFERENCES actor_profiles (id),
    recorded_by           uuid NOT NULL REFERENCES actor_profiles (id),
    review_policy_hash    text NOT NULL,
    accepted_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT final_acceptances_source_valid
        CHECK (acceptance_source IN ('human_review', 'task_post_submit_route')),
    CONSTRAINT final_acceptances_source_shape
        CHECK ((acceptance_source = 'human_review') = (source_review_id IS NOT NULL)),
    CONSTRAINT final_acceptances_review_policy_hash_format CHECK (review_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT final_acceptances_task_fk FOREIGN KEY (task_id, project_id) REFERENCES tasks (id, project_id),
    CONSTRAINT final_acceptances_submission_fk FOREIGN KEY (submission_id, task_id, accepted_submitter_id)
        REFERENCES submissions (id, task_id, contributor_id),
    CONSTRAINT final_acceptances_review_fk FOREIGN KEY (source_review_id, submission_id, recorded_by)
        REFERENCES reviews (id, submission_id, reviewer_id),
    CONSTRAINT final_acceptances_task_key UNIQUE (task_id),
    CONSTRAINT final_acceptances_submission_key UNIQUE (submission_id),
    CONSTRAINT final_acceptances_source_review_key UNIQUE (source_review_id),
    CONSTRAINT final_acceptances_contribution_source_key UNIQUE (id, submission_id, accepted_submitter_id)
);
SELECT workstream_make_append_only('final_acceptances');

CREATE FUNCTION final_acceptances_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.source_review_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM reviews WHERE id = NEW.source_review_id AND decision = 'accept') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'final_acceptances_review_accepts',
            'only an accept review creates a final acceptance (R38)');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER final_acceptances_check_insert BEFORE INSERT ON final_acceptances
    FOR EACH ROW EXECUTE FUNCTION final_acceptances_check_insert();
