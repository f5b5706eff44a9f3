-- Reviewer calibration: a sampled share of decided submissions is offered, blind to the
-- first decision, to a second qualified reviewer, and how far the two agree is stored
-- (docs/rules.md R52).
--
-- Nothing measured whether reviewers agree with each other. A project's review policy may
-- now set `calibration_sample_percent` (policies/review-policy.schema.json); after each
-- Review the reputation job draws, deterministically from the review's id, whether it is
-- sampled under the review policy its submission locked, and if so opens one offer here.
-- The offer never touches the review queue, the Review, the task, its contributions or
-- its awards: a Review is decided once, by one reviewer (R52, R53), and the second review
-- is a measurement of the first, recorded beside it.
--
-- * calibration_offers: one per sampled Review ([M]). `offered` to every qualified
--   reviewer of the project, `leased` to one holder until database time passes
--   `lease_expires_at` (then `offered` again), `recorded` by the holder's decision, or
--   `expired` when `offer_expires_at` passes first. The moves are the domain's
--   (crates/workstream-domain/src/machines/calibration.rs), asked of
--   workstream_check_move like every other machine (migrations/0015_state_moves.sql).
--   The database refuses a holder who is the first reviewer, a submitter of any version
--   of the task (R25's rule, for the second review too), or not human. The composite
--   foreign keys tie the offer to its Review, submission, task and project.
-- * calibration_reviews: the second reviewer's decision, summary and findings (each with
--   its review fingerprint), the first decision it is compared with, whether the
--   decisions agree, and the overlap of the two reviews' findings in basis points
--   (|A ∩ B| / |A ∪ B| of the fingerprint sets, 10000 when both are empty). [I]: a
--   measurement is never edited.
-- * project_lessons_source_valid gains `calibration_disagreement`: a second review that
--   contradicts an accept opens a lesson pointing at the calibration review.

CREATE TABLE calibration_offers (
    id                 uuid PRIMARY KEY,
    project_id         uuid NOT NULL REFERENCES projects (id),
    task_id            uuid NOT NULL,
    submission_id      uuid NOT NULL,
    sampled_review_id  uuid NOT NULL,
    first_reviewer_id  uuid NOT NULL REFERENCES actor_profiles (id),
    -- The review policy that drew the sample: its hash (as the submission locked it) and
    -- its rate.
    review_policy_hash text NOT NULL,
    sample_percent     integer NOT NULL,
    state              text NOT NULL DEFAULT 'offered',
    holder_id          uuid REFERENCES actor_profiles (id),
    leased_at          timestamptz,
    lease_expires_at   timestamptz,
    offer_expires_at   timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calibration_offers_state_valid CHECK (state IN ('offered', 'leased', 'recorded', 'expired')),
    CONSTRAINT calibration_offers_sample_percent_range CHECK (sample_percent BETWEEN 1 AND 100),
    CONSTRAINT calibration_offers_review_policy_hash_format
        CHECK (review_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT calibration_offers_window CHECK (offer_expires_at > created_at),
    -- A holder exactly while leased or once recorded; a lease expiry exactly while leased.
    CONSTRAINT calibration_offers_holder_shape CHECK (
        (state IN ('leased', 'recorded')) = (holder_id IS NOT NULL)),
    CONSTRAINT calibration_offers_lease_shape CHECK (
        (state = 'leased') = (lease_expires_at IS NOT NULL AND leased_at IS NOT NULL)),
    CONSTRAINT calibration_offers_sampled_review_key UNIQUE (sampled_review_id),
    CONSTRAINT calibration_offers_review_fk FOREIGN KEY (sampled_review_id, submission_id, first_reviewer_id)
        REFERENCES reviews (id, submission_id, reviewer_id),
    CONSTRAINT calibration_offers_submission_fk FOREIGN KEY (submission_id, task_id)
        REFERENCES submissions (id, task_id),
    CONSTRAINT calibration_offers_task_fk FOREIGN KEY (task_id, project_id) REFERENCES tasks (id, project_id),
    -- Target of the calibration review's foreign key.
    CONSTRAINT calibration_offers_review_key UNIQUE (id, project_id, sampled_review_id, first_reviewer_id)
);

-- One calibration lease per reviewer at a time.
CREATE UNIQUE INDEX calibration_offers_one_lease_per_holder ON calibration_offers (holder_id)
    WHERE state = 'leased';
CREATE INDEX calibration_offers_holder_idx ON calibration_offers (holder_id);
CREATE INDEX calibration_offers_state_idx ON calibration_offers (state, created_at);
CREATE INDEX calibration_offers_project_idx ON calibration_offers (project_id, created_at);

CREATE FUNCTION calibration_offers_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_check_move(TG_TABLE_NAME, 'calibration_offer_state', OLD.state, NEW.state);
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
            ARRAY['state', 'holder_id', 'leased_at', 'lease_expires_at', 'updated_at'],
            'an offer only changes hands and state');
    ELSIF NEW.state <> 'offered' THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'calibration_offers_created_offered',
            'a calibration offer starts offered');
    END IF;
    IF NEW.holder_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.holder_id IS DISTINCT FROM OLD.holder_id) THEN
        IF NEW.holder_id = NEW.first_reviewer_id THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'calibration_offers_not_first_reviewer',
                'the first reviewer cannot calibrate their own review');
        END IF;
        -- R25: the submitter of any version of the task never reviews it, a second time included.
        IF EXISTS (SELECT 1 FROM submissions s
                   WHERE s.task_id = NEW.task_id AND s.contributor_id = NEW.holder_id) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'calibration_offers_no_self_review',
                'a submitter cannot review their own submission chain');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM actor_profiles WHERE id = NEW.holder_id AND kind = 'human') THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'calibration_offers_holder_human',
                'reviewers are human actors');
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER calibration_offers_guard BEFORE INSERT OR UPDATE OR DELETE ON calibration_offers
    FOR EACH ROW EXECUTE FUNCTION calibration_offers_guard();
CREATE TRIGGER calibration_offers_no_truncate BEFORE TRUNCATE ON calibration_offers
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER calibration_offers_touch_updated_at BEFORE UPDATE ON calibration_offers
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

CREATE TABLE calibration_reviews (
    id                         uuid PRIMARY KEY,
    offer_id                   uuid NOT NULL,
    project_id                 uuid NOT NULL,
    sampled_review_id          uuid NOT NULL,
    first_reviewer_id          uuid NOT NULL,
    reviewer_id                uuid NOT NULL REFERENCES actor_profiles (id),
    decision                   text NOT NULL,
    first_decision             text NOT NULL,
    summary                    text NOT NULL DEFAULT '',
    confidence                 text,
    reject_reason              text,
    acceptance_evidence_refs   jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- The second reviewer's findings as raised, each with its `fingerprint`.
    findings                   jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- The sampled Review's findings, as fingerprints (what the overlap compared with).
    first_finding_fingerprints text[] NOT NULL DEFAULT '{}',
    decision_agrees            boolean NOT NULL,
    finding_overlap_bp         integer NOT NULL,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calibration_reviews_decision_valid CHECK (decision IN ('accept', 'needs_revision', 'reject')),
    CONSTRAINT calibration_reviews_first_decision_valid
        CHECK (first_decision IN ('accept', 'needs_revision', 'reject')),
    CONSTRAINT calibration_reviews_agreement CHECK (decision_agrees = (decision = first_decision)),
    CONSTRAINT calibration_reviews_overlap_range CHECK (finding_overlap_bp BETWEEN 0 AND 10000),
    CONSTRAINT calibration_reviews_summary_length CHECK (char_length(summary) <= 20000),
    CONSTRAINT calibration_reviews_reject_reason_only_for_reject
        CHECK (decision = 'reject' OR reject_reason IS NULL),
    CONSTRAINT calibration_reviews_reject_reason_required CHECK (
        decision <> 'reject' OR (reject_reason IS NOT NULL AND btrim(reject_reason) <> '')),
    CONSTRAINT calibration_reviews_confidence_valid CHECK (confidence IN ('low', 'medium', 'high')),
    CONSTRAINT calibration_reviews_evidence_array CHECK (jsonb_typeof(acceptance_evidence_refs) = 'array'),
    CONSTRAINT calibration_reviews_evidence_required CHECK (
        decision <> 'accept' OR jsonb_array_length(acceptance_evidence_refs) > 0),
    CONSTRAINT calibration_reviews_findings_array CHECK (jsonb_typeof(findings) = 'array'),
    CONSTRAINT calibration_reviews_offer_key UNIQUE (offer_id),
    CONSTRAINT calibration_reviews_offer_fk FOREIGN KEY (offer_id, project_id, sampled_review_id, first_reviewer_id)
        REFERENCES calibration_offers (id, project_id, sampled_review_id, first_reviewer_id)
);
SELECT workstream_make_append_only('calibration_reviews');

CREATE INDEX calibration_reviews_project_idx ON calibration_reviews (project_id, created_at);
CREATE INDEX calibration_reviews_first_reviewer_idx ON calibration_reviews (first_reviewer_id);

-- A calibration review is recorded by the offer's holder while they hold it, and compares
-- with the sampled Review's decision as it was recorded.
CREATE FUNCTION calibration_reviews_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM calibration_offers
                   WHERE id = NEW.offer_id AND state = 'leased' AND holder_id = NEW.reviewer_id) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'calibration_reviews_offer_held',
            'a calibration review is recorded by the holder of the offer''s lease');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM reviews WHERE id = NEW.sampled_review_id AND decision = NEW.first_decision) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'calibration_reviews_first_decision',
            'the first decision is the sampled review''s');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER calibration_reviews_check_insert BEFORE INSERT ON calibration_reviews
    FOR EACH ROW EXECUTE FUNCTION calibration_reviews_check_insert();

-- A lesson may come from a calibration review that contradicted an accept.
ALTER TABLE project_lessons DROP CONSTRAINT project_lessons_source_valid;
ALTER TABLE project_lessons ADD CONSTRAINT project_lessons_source_valid CHECK (source IN (
    'checker_failure', 'reviewer_finding', 'rejected_task', 'repeated_revision_loop',
    'fulfillment_reconciliation_issue', 'incident', 'calibration_disagreement'));
