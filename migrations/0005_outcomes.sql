-- 0005_outcomes.sql
--
-- Workstream schema, part 5 of 5: what accepted and reviewed work yields - contribution
-- records, compensation awards, fulfilment receipts, the mutable status projection and the
-- award delivery outbox (docs/rules.md: R38-R45); reputation events and scores, project
-- lessons (R51) and evaluation sprints
-- (docs/architecture.md, "Reputation, sprints and lessons are implemented").
--
-- Error codes: see the header of 0001_foundation.sql (WS001 immutable, WS002 transition,
-- 23514 named cross-row checks).

-- ---------------------------------------------------------------------------------------
-- Contribution records (docs/rules.md: R38, R40)
-- ---------------------------------------------------------------------------------------

-- Two shapes (CHECK): the reviewer's completed_review (review + lease set, acceptance and
-- assignment null) and the submitter's accepted_submission (the reverse). One completed_review
-- per Review and one accepted_submission per FinalAcceptance (partial uniques, R38). The
-- contributor and the frozen policy version are FK-pinned to the lease (reviewer) or to the
-- assignment and the acceptance (submitter): docs/lifecycle.md, "Locked context". The artifact
-- hash is the submission's archive digest. [I].
CREATE TABLE contribution_records (
    id                             uuid PRIMARY KEY,
    project_id                     uuid NOT NULL,
    task_id                        uuid NOT NULL,
    submission_id                  uuid NOT NULL,
    contribution_type              text NOT NULL,
    contributor_id                 uuid NOT NULL REFERENCES actor_profiles (id),
    source_review_id               uuid,
    source_review_lease_id         uuid,
    source_final_acceptance_id     uuid,
    source_task_assignment_id      uuid,
    artifact_hash                  text NOT NULL,
    contribution_policy_version_id uuid NOT NULL REFERENCES contribution_policy_versions (id),
    created_at                     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contribution_records_type_valid
        CHECK (contribution_type IN ('accepted_submission', 'completed_review')),
    CONSTRAINT contribution_records_artifact_hash_format CHECK (artifact_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT contribution_records_source_shape CHECK (
        (contribution_type = 'completed_review'
         AND source_review_id IS NOT NULL AND source_review_lease_id IS NOT NULL
         AND source_final_acceptance_id IS NULL AND source_task_assignment_id IS NULL)
        OR (contribution_type = 'accepted_submission'
         AND source_review_id IS NULL AND source_review_lease_id IS NULL
         AND source_final_acceptance_id IS NOT NULL AND source_task_assignment_id IS NOT NULL)),
    CONSTRAINT contribution_records_task_fk FOREIGN KEY (task_id, project_id) REFERENCES tasks (id, project_id),
    CONSTRAINT contribution_records_submission_fk FOREIGN KEY (submission_id, task_id, artifact_hash)
        REFERENCES submissions (id, task_id, archive_sha256),
    CONSTRAINT contribution_records_review_fk
        FOREIGN KEY (source_review_id, submission_id, contributor_id, source_review_lease_id)
        REFERENCES reviews (id, submission_id, reviewer_id, review_lease_id),
    CONSTRAINT contribution_records_lease_fk
        FOREIGN KEY (source_review_lease_id, contributor_id, contribution_policy_version_id)
        REFERENCES review_leases (id, reviewer_id, reviewer_contribution_policy_version_id),
    CONSTRAINT contribution_records_final_acceptance_fk
        FOREIGN KEY (source_final_acceptance_id, submission_id, contributor_id)
        REFERENCES final_acceptances (id, submission_id, accepted_submitter_id),
    CONSTRAINT contribution_records_assignment_fk
        FOREIGN KEY (source_task_assignment_id, contributor_id, contribution_policy_version_id)
        REFERENCES task_assignments (id, contributor_id, submitter_contribution_policy_version_id),
    -- Target of the awards' FK.
    CONSTRAINT contribution_records_award_target_key
        UNIQUE (id, project_id, contributor_id, contribution_policy_version_id, contribution_type)
);
SELECT workstream_make_append_only('contribution_records');

CREATE UNIQUE INDEX contribution_records_one_per_review ON contribution_records (source_review_id)
    WHERE contribution_type = 'completed_review';
CREATE UNIQUE INDEX contribution_records_one_per_final_acceptance ON contribution_records (source_final_acceptance_id)
    WHERE contribution_type = 'accepted_submission';
CREATE INDEX contribution_records_contributor_idx ON contribution_records (contributor_id, created_at);

-- ---------------------------------------------------------------------------------------
-- Compensation awards and fulfilment (docs/rules.md: R39-R45)
-- ---------------------------------------------------------------------------------------

-- What a contribution earns. Quantity, unit, instrument and binding are copied exactly from
-- the frozen award definition of the contribution's policy version and type (composite FK
-- over all terms, R41: no rounding, conversion or recalculation). At most one award per
-- (contribution, instrument) (UNIQUE). No fulfilment state lives here (R39). [I].
CREATE TABLE compensation_awards (
    id                             uuid PRIMARY KEY,
    project_id                     uuid NOT NULL,
    contribution_record_id         uuid NOT NULL,
    contribution_type              text NOT NULL,
    contributor_id                 uuid NOT NULL,
    contribution_policy_version_id uuid NOT NULL,
    award_definition_id            uuid NOT NULL,
    adapter_binding_id             uuid NOT NULL,
    instrument_type                text NOT NULL,
    unit_code                      text NOT NULL,
    quantity                       numeric(38, 18) NOT NULL,
    correlation_id                 text,
    created_at                     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT compensation_awards_instrument_valid CHECK (instrument_type IN ('money', 'project_points')),
    CONSTRAINT compensation_awards_quantity_positive CHECK (quantity > 0),
    CONSTRAINT compensation_awards_correlation_id_length CHECK (char_length(correlation_id) BETWEEN 1 AND 200),
    CONSTRAINT compensation_awards_contribution_fk FOREIGN KEY (
            contribution_record_id, project_id, contributor_id, contribution_policy_version_id, contribution_type)
        REFERENCES contribution_records (id, project_id, contributor_id, contribution_policy_version_id, contribution_type),
    CONSTRAINT compensation_awards_definition_fk FOREIGN KEY (
            award_definition_id, contribution_policy_version_id, contribution_type,
            instrument_type, unit_code, quantity, adapter_binding_id)
        REFERENCES contribution_award_definitions (
            id, version_id, contribution_type, instrument_type, unit_code, quantity, adapter_binding_id),
    CONSTRAINT compensation_awards_binding_fk FOREIGN KEY (adapter_binding_id, project_id, instrument_type)
        REFERENCES project_compensation_adapter_bindings (id, project_id, instrument_type),
    CONSTRAINT compensation_awards_contribution_instrument_key UNIQUE (contribution_record_id, instrument_type),
    CONSTRAINT compensation_awards_receipt_target_key UNIQUE (id, project_id, adapter_binding_id),
    CONSTRAINT compensation_awards_quantity_key UNIQUE (id, quantity)
);
SELECT workstream_make_append_only('compensation_awards');

CREATE INDEX compensation_awards_contributor_idx ON compensation_awards (contributor_id, created_at);
CREATE INDEX compensation_awards_project_idx ON compensation_awards (project_id, created_at);

-- A callback from the award's bound adapter (composite FK: same project and binding, R43).
-- external_event_id is unique per binding, so an exact replay is recognisable (AS45). At
-- most one fulfilled receipt per award (partial unique): no double payment (R42, AS44); a
-- fulfilled award also refuses later failed receipts (trigger). Fulfilled needs the exact
-- award quantity (FK on (award, quantity); failed rows have a null quantity and skip it),
-- an external reference and a time; failed needs a closed failure code and nothing else
-- (R42, AS46). [I].
CREATE TABLE compensation_fulfillment_receipts (
    id                     uuid PRIMARY KEY,
    compensation_award_id  uuid NOT NULL,
    project_id             uuid NOT NULL,
    adapter_binding_id     uuid NOT NULL,
    external_event_id      text NOT NULL,
    reported_status        text NOT NULL,
    external_reference     text,
    fulfilled_quantity     numeric(38, 18),
    fulfilled_at           timestamptz,
    failure_code           text,
    request_hash           text,
    reported_at            timestamptz NOT NULL,
    received_at            timestamptz NOT NULL DEFAULT now(),
    correlation_id         text,
    CONSTRAINT compensation_fulfillment_receipts_event_id_format
        CHECK (external_event_id ~ '^[A-Za-z0-9._:-]{1,128}$'),
    CONSTRAINT compensation_fulfillment_receipts_status_valid CHECK (reported_status IN ('fulfilled', 'failed')),
    CONSTRAINT compensation_fulfillment_receipts_reference_length
        CHECK (char_length(external_reference) BETWEEN 1 AND 500),
    CONSTRAINT compensation_fulfillment_receipts_failure_code_valid CHECK (failure_code IN (
        'ADAPTER_REJECTED', 'DESTINATION_UNAVAILABLE', 'PROVIDER_UNAVAILABLE',
        'PROVIDER_TIMEOUT', 'UNKNOWN_PROVIDER_FAILURE')),
    CONSTRAINT compensation_fulfillment_receipts_request_hash_format CHECK (request_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT compensation_fulfillment_receipts_correlation_id_length
        CHECK (char_length(correlation_id) BETWEEN 1 AND 200),
    CONSTRAINT compensation_fulfillment_receipts_status_shape CHECK (
        (reported_status = 'fulfilled' AND fulfilled_quantity IS NOT NULL AND external_reference IS NOT NULL
         AND fulfilled_at IS NOT NULL AND failure_code IS NULL)
        OR (reported_status = 'failed' AND failure_code IS NOT NULL AND fulfilled_quantity IS NULL
         AND external_reference IS NULL AND fulfilled_at IS NULL)),
    CONSTRAINT compensation_fulfillment_receipts_award_fk FOREIGN KEY (compensation_award_id, project_id, adapter_binding_id)
        REFERENCES compensation_awards (id, project_id, adapter_binding_id),
    CONSTRAINT compensation_fulfillment_receipts_quantity_fk FOREIGN KEY (compensation_award_id, fulfilled_quantity)
        REFERENCES compensation_awards (id, quantity),
    CONSTRAINT compensation_fulfillment_receipts_binding_event_key UNIQUE (adapter_binding_id, external_event_id)
);
SELECT workstream_make_append_only('compensation_fulfillment_receipts');

CREATE UNIQUE INDEX compensation_fulfillment_receipts_one_fulfilled_per_award
    ON compensation_fulfillment_receipts (compensation_award_id) WHERE reported_status = 'fulfilled';
CREATE INDEX compensation_fulfillment_receipts_award_idx
    ON compensation_fulfillment_receipts (compensation_award_id, received_at);

CREATE FUNCTION compensation_fulfillment_receipts_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A second *fulfilled* receipt is refused by the partial unique index; a failed one after
    -- fulfilment is refused here (terminal: docs/lifecycle.md, "Award delivery and fulfilment").
    IF NEW.reported_status = 'failed' AND EXISTS (
        SELECT 1 FROM compensation_fulfillment_receipts
        WHERE compensation_award_id = NEW.compensation_award_id AND reported_status = 'fulfilled') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'compensation_fulfillment_receipts_award_fulfilled',
            'the award is already fulfilled');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER compensation_fulfillment_receipts_check_insert BEFORE INSERT ON compensation_fulfillment_receipts
    FOR EACH ROW EXECUTE FUNCTION compensation_fulfillment_receipts_check_insert();

-- [M] per-award delivery and fulfilment status; rebuildable from awards, the outbox and
-- receipts, never overriding them (R44). Unpaid contributions have none.
CREATE TABLE compensation_status_projections (
    compensation_award_id    uuid PRIMARY KEY REFERENCES compensation_awards (id),
    project_id               uuid NOT NULL REFERENCES projects (id),
    delivery_status          text NOT NULL DEFAULT 'pending_delivery',
    fulfillment_status       text NOT NULL DEFAULT 'pending',
    latest_receipt_id        uuid REFERENCES compensation_fulfillment_receipts (id),
    external_reference       text,
    last_failure_code        text,
    acknowledged_at          timestamptz,
    fulfilled_at             timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT compensation_status_projections_delivery_valid
        CHECK (delivery_status IN ('pending_delivery', 'acknowledged_by_adapter')),
    CONSTRAINT compensation_status_projections_fulfillment_valid
        CHECK (fulfillment_status IN ('pending', 'failed', 'fulfilled')),
    CONSTRAINT compensation_status_projections_acknowledged_shape
        CHECK ((delivery_status = 'acknowledged_by_adapter') = (acknowledged_at IS NOT NULL)),
    CONSTRAINT compensation_status_projections_fulfilled_shape CHECK (
        fulfillment_status <> 'fulfilled'
        OR (latest_receipt_id IS NOT NULL AND external_reference IS NOT NULL AND fulfilled_at IS NOT NULL)),
    CONSTRAINT compensation_status_projections_failed_shape
        CHECK (fulfillment_status <> 'failed' OR last_failure_code IS NOT NULL),
    CONSTRAINT compensation_status_projections_reference_length
        CHECK (char_length(external_reference) BETWEEN 1 AND 500),
    CONSTRAINT compensation_status_projections_failure_code_valid CHECK (last_failure_code IN (
        'ADAPTER_REJECTED', 'DESTINATION_UNAVAILABLE', 'PROVIDER_UNAVAILABLE',
        'PROVIDER_TIMEOUT', 'UNKNOWN_PROVIDER_FAILURE'))
);

-- Finance dashboards: pending, acknowledged-not-fulfilled, failed, fulfilled.
CREATE INDEX compensation_status_projections_status_idx
    ON compensation_status_projections (project_id, fulfillment_status, delivery_status);
CREATE TRIGGER compensation_status_projections_touch_updated_at BEFORE UPDATE ON compensation_status_projections
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- Award events for the bound adapter (docs/architecture.md, "Payment adapters are a port"),
-- written in the decision transaction and dispatched after commit by a job; one row per
-- (award, event type). pending -> dispatched -> acknowledged, or failed (retried by the job;
-- provider I/O never happens under the decision's locks, R43).
CREATE TABLE award_delivery_outbox (
    id                    uuid PRIMARY KEY,
    compensation_award_id uuid NOT NULL,
    project_id            uuid NOT NULL,
    adapter_binding_id    uuid NOT NULL,
    event_type            text NOT NULL DEFAULT 'award_created',
    payload               jsonb NOT NULL,
    state                 text NOT NULL DEFAULT 'pending',
    attempts              integer NOT NULL DEFAULT 0,
    last_error            text,
    job_id                uuid,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    dispatched_at         timestamptz,
    acknowledged_at       timestamptz,
    CONSTRAINT award_delivery_outbox_event_type_valid CHECK (event_type IN ('award_created')),
    CONSTRAINT award_delivery_outbox_payload_object CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT award_delivery_outbox_state_valid
        CHECK (state IN ('pending', 'dispatched', 'acknowledged', 'failed')),
    CONSTRAINT award_delivery_outbox_attempts_nonnegative CHECK (attempts >= 0),
    CONSTRAINT award_delivery_outbox_last_error_length CHECK (char_length(last_error) <= 8000),
    CONSTRAINT award_delivery_outbox_acknowledged_shape
        CHECK ((state = 'acknowledged') = (acknowledged_at IS NOT NULL)),
    CONSTRAINT award_delivery_outbox_award_fk FOREIGN KEY (compensation_award_id, project_id, adapter_binding_id)
        REFERENCES compensation_awards (id, project_id, adapter_binding_id),
    CONSTRAINT award_delivery_outbox_award_event_key UNIQUE (compensation_award_id, event_type)
);

CREATE INDEX award_delivery_outbox_pending_idx ON award_delivery_outbox (created_at)
    WHERE state IN ('pending', 'failed');
CREATE TRIGGER award_delivery_outbox_touch_updated_at BEFORE UPDATE ON award_delivery_outbox
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Reputation (docs/architecture.md, "Reputation, sprints and lessons are implemented"; R53)
-- ---------------------------------------------------------------------------------------

-- An outcome ledger, appended by a job after each decision (never inside the decision
-- transaction, R53). source_key makes a replayed job idempotent (UNIQUE), e.g.
-- 'review:<uuid>:submitter'. [I].
CREATE TABLE reputation_events (
    id                     uuid PRIMARY KEY,
    actor_id               uuid NOT NULL REFERENCES actor_profiles (id),
    project_id             uuid REFERENCES projects (id),
    role                   text NOT NULL,
    event_type             text NOT NULL,
    task_id                uuid REFERENCES tasks (id),
    submission_id          uuid REFERENCES submissions (id),
    review_id              uuid REFERENCES reviews (id),
    contribution_record_id uuid REFERENCES contribution_records (id),
    skill_tags             text[] NOT NULL DEFAULT '{}',
    weight                 numeric(10, 4) NOT NULL DEFAULT 1,
    score_delta            numeric(12, 4) NOT NULL,
    reason                 text,
    source_key             text NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reputation_events_role_valid CHECK (role IN ('submitter', 'reviewer')),
    CONSTRAINT reputation_events_event_type_valid CHECK (event_type IN (
        'accepted', 'needs_revision', 'rejected', 'revision_closed', 'late_submission',
        'contribution_recorded', 'compensation_fulfilled',
        'clear_review', 'unclear_feedback', 'sampled_quality_concern', 'missed_prior_finding',
        'review_quality_sampled', 'review_feedback_flagged')),
    CONSTRAINT reputation_events_skill_tags_bounded CHECK (cardinality(skill_tags) <= 32),
    CONSTRAINT reputation_events_weight_nonnegative CHECK (weight >= 0),
    CONSTRAINT reputation_events_reason_length CHECK (char_length(reason) BETWEEN 1 AND 500),
    CONSTRAINT reputation_events_source_key_length CHECK (char_length(source_key) BETWEEN 1 AND 200),
    CONSTRAINT reputation_events_source_key_key UNIQUE (source_key)
);
SELECT workstream_make_append_only('reputation_events');

CREATE INDEX reputation_events_actor_idx ON reputation_events (actor_id, created_at);

-- [M] materialized score per actor, overall (skill_tag '*') and per skill tag; rebuildable
-- from reputation_events.
CREATE TABLE reputation_scores (
    actor_id             uuid NOT NULL REFERENCES actor_profiles (id),
    skill_tag            text NOT NULL DEFAULT '*',
    score                numeric(14, 4) NOT NULL DEFAULT 0,
    accepted_count       integer NOT NULL DEFAULT 0,
    needs_revision_count integer NOT NULL DEFAULT 0,
    rejected_count       integer NOT NULL DEFAULT 0,
    review_count         integer NOT NULL DEFAULT 0,
    event_count          bigint NOT NULL DEFAULT 0,
    last_event_id        uuid REFERENCES reputation_events (id),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reputation_scores_pkey PRIMARY KEY (actor_id, skill_tag),
    CONSTRAINT reputation_scores_skill_tag_length CHECK (char_length(skill_tag) BETWEEN 1 AND 64),
    CONSTRAINT reputation_scores_counts_nonnegative CHECK (
        accepted_count >= 0 AND needs_revision_count >= 0 AND rejected_count >= 0
        AND review_count >= 0 AND event_count >= 0)
);

CREATE TRIGGER reputation_scores_touch_updated_at BEFORE UPDATE ON reputation_scores
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Project lessons (docs/lifecycle.md, "Lesson"; R51)
-- ---------------------------------------------------------------------------------------

-- Repeated failures become lessons that turn into guide, checker or policy changes, never
-- silent rule changes (R51). open -> accepted | rejected; accepted -> implemented (trigger).
-- [M].
CREATE TABLE project_lessons (
    id                 uuid PRIMARY KEY,
    project_id         uuid NOT NULL REFERENCES projects (id),
    guide_id           uuid REFERENCES project_guides (id),
    guide_version      text,
    source             text NOT NULL,
    source_entity_type text,
    source_entity_id   uuid,
    lesson_type        text NOT NULL,
    summary            text NOT NULL,
    recommended_change text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT 'open',
    resolution_note    text,
    created_by         uuid NOT NULL REFERENCES actor_profiles (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    closed_by          uuid REFERENCES actor_profiles (id),
    closed_at          timestamptz,
    CONSTRAINT project_lessons_guide_version_length CHECK (char_length(guide_version) BETWEEN 1 AND 64),
    CONSTRAINT project_lessons_source_valid CHECK (source IN (
        'checker_failure', 'reviewer_finding', 'rejected_task', 'repeated_revision_loop',
        'fulfillment_reconciliation_issue', 'incident')),
    CONSTRAINT project_lessons_source_entity_type_length CHECK (char_length(source_entity_type) BETWEEN 1 AND 100),
    CONSTRAINT project_lessons_lesson_type_valid CHECK (lesson_type IN (
        'guide_update', 'checker_update', 'reviewer_policy_update', 'revision_policy_update',
        'queue_policy_update', 'contribution_policy_update', 'risk_note')),
    CONSTRAINT project_lessons_summary_length CHECK (char_length(summary) BETWEEN 1 AND 2000),
    CONSTRAINT project_lessons_recommended_change_length CHECK (char_length(recommended_change) <= 8000),
    CONSTRAINT project_lessons_status_valid CHECK (status IN ('open', 'accepted', 'rejected', 'implemented')),
    CONSTRAINT project_lessons_resolution_note_length CHECK (char_length(resolution_note) BETWEEN 1 AND 4000),
    CONSTRAINT project_lessons_closed_shape CHECK (
        (status IN ('open', 'accepted') AND closed_at IS NULL)
        OR (status IN ('rejected', 'implemented') AND closed_at IS NOT NULL))
);

CREATE INDEX project_lessons_project_idx ON project_lessons (project_id, status, created_at);

CREATE FUNCTION project_lessons_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
           (OLD.status = 'open'     AND NEW.status IN ('accepted', 'rejected'))
        OR (OLD.status = 'accepted' AND NEW.status = 'implemented')) THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER project_lessons_guard BEFORE UPDATE ON project_lessons
    FOR EACH ROW EXECUTE FUNCTION project_lessons_guard();
CREATE TRIGGER project_lessons_touch_updated_at BEFORE UPDATE ON project_lessons
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Evaluation sprints (docs/architecture.md, "Reputation, sprints and lessons are implemented")
-- ---------------------------------------------------------------------------------------

-- A named group of a project's tasks with a time window and a generated report
-- (acceptance/revision/reject rates, turnaround, checker failure mix). A reporting
-- grouping only: it has no lifecycle authority over its tasks. [M].
CREATE TABLE evaluation_sprints (
    id                  uuid PRIMARY KEY,
    project_id          uuid NOT NULL REFERENCES projects (id),
    name                text NOT NULL,
    description         text NOT NULL DEFAULT '',
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    report              jsonb,
    report_generated_at timestamptz,
    created_by          uuid NOT NULL REFERENCES actor_profiles (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT evaluation_sprints_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT evaluation_sprints_description_length CHECK (char_length(description) <= 4000),
    CONSTRAINT evaluation_sprints_window CHECK (ends_at > starts_at),
    CONSTRAINT evaluation_sprints_report_object CHECK (jsonb_typeof(report) = 'object'),
    CONSTRAINT evaluation_sprints_report_shape CHECK ((report IS NULL) = (report_generated_at IS NULL)),
    CONSTRAINT evaluation_sprints_project_name_key UNIQUE (project_id, name),
    CONSTRAINT evaluation_sprints_project_key UNIQUE (id, project_id)
);

CREATE TRIGGER evaluation_sprints_touch_updated_at BEFORE UPDATE ON evaluation_sprints
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- Membership of a task in a sprint; both belong to the same project (composite FKs).
CREATE TABLE evaluation_sprint_tasks (
    sprint_id  uuid NOT NULL,
    task_id    uuid NOT NULL,
    project_id uuid NOT NULL,
    added_by   uuid NOT NULL REFERENCES actor_profiles (id),
    added_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT evaluation_sprint_tasks_pkey PRIMARY KEY (sprint_id, task_id),
    CONSTRAINT evaluation_sprint_tasks_sprint_fk FOREIGN KEY (sprint_id, project_id)
        REFERENCES evaluation_sprints (id, project_id),
    CONSTRAINT evaluation_sprint_tasks_task_fk FOREIGN KEY (task_id, project_id)
        REFERENCES tasks (id, project_id)
);

CREATE INDEX evaluation_sprint_tasks_task_idx ON evaluation_sprint_tasks (task_id);
