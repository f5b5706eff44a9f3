-- Policy previews: what a draft guide's checker policy would do to the project's stored
-- packets, known before the guide is activated (crates/workstream-engine/src/previews/).
--
-- A manager who tightens a checker policy learned what it does only when real workers
-- met it. Every packet is immutable and stored, every checker a content-addressed
-- component, every verdict reproducible (crates/workstream-engine/src/pipeline.rs,
-- `replay`); so the draft's effective policy, pinned exactly as activation would pin
-- it (crates/workstream-engine/src/guides.rs, `effective_bundle`), is run, both phases,
-- over the project's most recent stored submissions, in background jobs, and compared
-- with each submission's recorded run. A preview writes only its own rows: never a
-- submission, a run, a result, a task, a queue entry or any task state. A checker run
-- could not hold it anyway: checker_runs ties its policy hash to the submission's lock.
--
-- * policy_previews: one per preview ([M]). It keeps what was previewed (the draft's
--   bundle hash at start, the effective artifact and checker policies with their
--   hashes), how many submissions were asked for and which were chosen (most recent
--   first), the jobs that check them, and where it stands: `queued` -> `running` ->
--   `completed` with its summary, or `failed` with the reason (from either), so no
--   preview is left running for good. The moves are the domain's
--   (crates/workstream-domain/src/machines/preview.rs), asked of workstream_check_move
--   like every other machine (migrations/0015_state_moves.sql). Only a draft guide of
--   the same project is previewed (the composite key), every chosen submission is the
--   project's, and a preview completes only with a result for each.
-- * policy_preview_results: one per previewed submission ([I], append-only): the
--   recorded current run and its route; the draft's route in each phase and overall
--   (the pre-submit route when it holds the packet back, else the post-submit one), or
--   `intake_refused` with the intake code when the draft's artifact limits refuse the
--   packet, or `material_unavailable` when its stored bytes cannot be read; each
--   checker's status in both phases, recorded and under the draft, with whether it
--   newly fails or newly passes; the checker findings that appear or disappear, by the
--   fingerprints the revision view uses (crates/workstream-engine/src/reviews/findings.rs).
-- * submissions_project_submitted_idx: the project's submissions newest first, which
--   choosing "the most recent N" walks instead of every task of the project.
-- * project_lessons.implemented_preview_id: a lesson implemented by a checker change may
--   name, as its evidence, a completed preview of the same project; only an implemented
--   lesson names one.

CREATE TABLE policy_previews (
    id                   uuid PRIMARY KEY,
    project_id           uuid NOT NULL REFERENCES projects (id),
    guide_id             uuid NOT NULL,
    -- The draft's bundle as submitted when the preview started (project_guides.policy_bundle_hash).
    policy_bundle_hash   text NOT NULL,
    -- The draft's effective policies, defaults merged and every checker pinned.
    artifact_policy      jsonb NOT NULL,
    artifact_policy_hash text NOT NULL,
    checker_policy       jsonb NOT NULL,
    checker_policy_hash  text NOT NULL,
    submission_limit     integer NOT NULL,
    submission_ids       uuid[] NOT NULL,
    job_ids              uuid[] NOT NULL,
    status               text NOT NULL DEFAULT 'queued',
    summary              jsonb,
    failure_detail       text,
    requested_by         uuid NOT NULL REFERENCES actor_profiles (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    finished_at          timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policy_previews_project_key UNIQUE (id, project_id),
    CONSTRAINT policy_previews_guide_fk FOREIGN KEY (guide_id, project_id)
        REFERENCES project_guides (id, project_id),
    CONSTRAINT policy_previews_status_valid CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    CONSTRAINT policy_previews_hash_format CHECK (
        policy_bundle_hash ~ '^sha256:[0-9a-f]{64}$'
        AND artifact_policy_hash ~ '^sha256:[0-9a-f]{64}$'
        AND checker_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT policy_previews_policies_objects CHECK (
        jsonb_typeof(artifact_policy) = 'object' AND jsonb_typeof(checker_policy) = 'object'),
    CONSTRAINT policy_previews_limit_range CHECK (submission_limit BETWEEN 1 AND 10000),
    CONSTRAINT policy_previews_submissions_within_limit CHECK (
        cardinality(submission_ids) BETWEEN 1 AND submission_limit),
    CONSTRAINT policy_previews_jobs_present CHECK (cardinality(job_ids) >= 1),
    CONSTRAINT policy_previews_failure_detail_length CHECK (char_length(failure_detail) BETWEEN 1 AND 4096),
    CONSTRAINT policy_previews_summary_object CHECK (jsonb_typeof(summary) = 'object'),
    CONSTRAINT policy_previews_status_shape CHECK (
        (status = 'queued' AND started_at IS NULL AND finished_at IS NULL
         AND summary IS NULL AND failure_detail IS NULL)
        OR (status = 'running' AND started_at IS NOT NULL AND finished_at IS NULL
         AND summary IS NULL AND failure_detail IS NULL)
        OR (status = 'completed' AND started_at IS NOT NULL AND finished_at IS NOT NULL
         AND summary IS NOT NULL AND failure_detail IS NULL)
        OR (status = 'failed' AND finished_at IS NOT NULL
         AND summary IS NULL AND failure_detail IS NOT NULL))
);

-- A guide's previews, newest first (its list, and the latest completed one activation shows).
CREATE INDEX policy_previews_guide_idx ON policy_previews (guide_id, created_at DESC, id DESC);
CREATE INDEX policy_previews_project_idx ON policy_previews (project_id, created_at);

-- Insert: a new preview is queued, of a draft guide, over distinct submissions of its project.
CREATE FUNCTION policy_previews_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'queued' THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'policy_previews_starts_queued',
            'a preview starts queued');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM project_guides WHERE id = NEW.guide_id AND status = 'draft') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'policy_previews_guide_draft',
            'only a draft guide is previewed');
    END IF;
    IF (SELECT count(DISTINCT s.id) FROM unnest(NEW.submission_ids) AS c(id)
          JOIN submissions s ON s.id = c.id AND s.project_id = NEW.project_id)
       <> cardinality(NEW.submission_ids) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'policy_previews_submissions_of_project',
            'the chosen submissions are distinct submissions of the preview''s project');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER policy_previews_check_insert BEFORE INSERT ON policy_previews
    FOR EACH ROW EXECUTE FUNCTION policy_previews_check_insert();

-- Update: only its progress changes, along the domain's moves; it completes with a
-- result for every chosen submission. Never deleted.
CREATE FUNCTION policy_previews_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    PERFORM workstream_check_move(TG_TABLE_NAME, 'preview_status', OLD.status, NEW.status);
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, OLD, NEW,
        ARRAY['status', 'summary', 'failure_detail', 'started_at', 'finished_at', 'updated_at'],
        'a preview changes only its progress; what it previews is fixed when it starts');
    IF NEW.status = 'completed' AND NEW.status IS DISTINCT FROM OLD.status
       AND (SELECT count(*) FROM policy_preview_results WHERE preview_id = NEW.id)
           <> cardinality(NEW.submission_ids) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'policy_previews_complete_results',
            'a preview completes with a result for every chosen submission');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER policy_previews_guard BEFORE UPDATE OR DELETE ON policy_previews
    FOR EACH ROW EXECUTE FUNCTION policy_previews_guard();
CREATE TRIGGER policy_previews_touch_updated_at BEFORE UPDATE ON policy_previews
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

CREATE TABLE policy_preview_results (
    id                   uuid PRIMARY KEY,
    preview_id           uuid NOT NULL REFERENCES policy_previews (id),
    submission_id        uuid NOT NULL REFERENCES submissions (id),
    task_id              uuid NOT NULL,
    submission_version   integer NOT NULL,
    -- The submission's current run when it was previewed, and its route.
    recorded_run_id      uuid NOT NULL REFERENCES checker_runs (id),
    recorded_route       text NOT NULL,
    -- The draft's route per phase, and the one the packet would have met.
    draft_pre_route      text,
    draft_post_route     text,
    draft_route          text NOT NULL,
    -- Why no checker ran: the intake code (intake_refused) or the read failure
    -- (material_unavailable), with the detail for operators.
    draft_code           text,
    draft_detail         text,
    -- [{checker, recorded_pre, recorded_post, draft_pre, draft_post, change}], the
    -- draft's checkers in policy order, then the recorded ones the draft drops.
    members              jsonb NOT NULL,
    -- Checker findings (crates/workstream-engine/src/reviews/findings.rs, CheckerFinding)
    -- of the draft's post-submit phase that the recorded run lacks, and the reverse.
    findings_appeared    jsonb NOT NULL,
    findings_disappeared jsonb NOT NULL,
    -- Draft members taken from the recorded run's identical results (same component,
    -- configuration and request digest), and members run in the sandbox.
    reused_results       integer NOT NULL,
    checked_results      integer NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policy_preview_results_once UNIQUE (preview_id, submission_id),
    CONSTRAINT policy_preview_results_recorded_route_valid CHECK (recorded_route IN (
        'allow_review', 'needs_revision', 'checker_retry', 'task_setup_blocked')),
    CONSTRAINT policy_preview_results_phase_routes_valid CHECK (
        draft_pre_route IN ('allow_review', 'needs_revision', 'checker_retry', 'task_setup_blocked')
        AND draft_post_route IN ('allow_review', 'needs_revision', 'checker_retry', 'task_setup_blocked')),
    CONSTRAINT policy_preview_results_draft_route_valid CHECK (draft_route IN (
        'allow_review', 'needs_revision', 'checker_retry', 'task_setup_blocked',
        'intake_refused', 'material_unavailable')),
    -- Checked: both phases ran and the route is the one the packet would have met;
    -- refused or unreadable: no phase ran, and the code says why.
    CONSTRAINT policy_preview_results_route_shape CHECK (
        (draft_route IN ('intake_refused', 'material_unavailable')
         AND draft_pre_route IS NULL AND draft_post_route IS NULL AND draft_code IS NOT NULL)
        OR (draft_route NOT IN ('intake_refused', 'material_unavailable')
         AND draft_code IS NULL AND draft_detail IS NULL
         AND draft_route = CASE WHEN draft_pre_route <> 'allow_review'
                                THEN draft_pre_route ELSE draft_post_route END)),
    CONSTRAINT policy_preview_results_draft_code_length CHECK (char_length(draft_code) BETWEEN 1 AND 100),
    CONSTRAINT policy_preview_results_draft_detail_length CHECK (char_length(draft_detail) BETWEEN 1 AND 4096),
    CONSTRAINT policy_preview_results_arrays CHECK (
        jsonb_typeof(members) = 'array' AND jsonb_typeof(findings_appeared) = 'array'
        AND jsonb_typeof(findings_disappeared) = 'array'),
    CONSTRAINT policy_preview_results_counts CHECK (reused_results >= 0 AND checked_results >= 0),
    CONSTRAINT policy_preview_results_run_fk FOREIGN KEY (recorded_run_id, submission_id)
        REFERENCES checker_runs (id, submission_id),
    CONSTRAINT policy_preview_results_submission_fk FOREIGN KEY (submission_id, task_id)
        REFERENCES submissions (id, task_id)
);

SELECT workstream_make_append_only('policy_preview_results');

-- Insert: a result belongs to a running preview that chose its submission.
CREATE FUNCTION policy_preview_results_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM policy_previews
                   WHERE id = NEW.preview_id AND status = 'running'
                     AND NEW.submission_id = ANY (submission_ids)) THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'policy_preview_results_preview_running',
            'a result is recorded by a running preview for a submission it chose');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER policy_preview_results_check_insert BEFORE INSERT ON policy_preview_results
    FOR EACH ROW EXECUTE FUNCTION policy_preview_results_check_insert();

-- The project's submissions, newest first: "the most recent N" (and no walk through tasks).
CREATE INDEX submissions_project_submitted_idx ON submissions (project_id, submitted_at DESC, id DESC);

-- A lesson implemented by a checker change links its preview as evidence: a completed
-- preview of the same project, named only by an implemented lesson (like the guide or
-- checker that carries the change, migrations/0007_reputation_lessons.sql).
ALTER TABLE project_lessons
    ADD COLUMN implemented_preview_id uuid,
    ADD CONSTRAINT project_lessons_implemented_preview_fk FOREIGN KEY (implemented_preview_id, project_id)
        REFERENCES policy_previews (id, project_id),
    ADD CONSTRAINT project_lessons_implemented_preview_shape CHECK (
        implemented_preview_id IS NULL OR status = 'implemented');

CREATE FUNCTION project_lessons_check_preview() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.implemented_preview_id IS NOT NULL
       AND NEW.implemented_preview_id IS DISTINCT FROM OLD.implemented_preview_id
       AND NOT EXISTS (SELECT 1 FROM policy_previews
                       WHERE id = NEW.implemented_preview_id AND status = 'completed') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_lessons_implemented_preview_completed',
            'a lesson''s evidence is a completed preview');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER project_lessons_check_preview BEFORE UPDATE OF implemented_preview_id ON project_lessons
    FOR EACH ROW EXECUTE FUNCTION project_lessons_check_preview();
