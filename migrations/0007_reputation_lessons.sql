-- 0007_reputation_lessons.sql
--
-- Workstream schema, part 7: what the reputation job, lesson detection and the lesson lifecycle
-- need beyond 0005 (docs/architecture.md, "Reputation, sprints and lessons are implemented"; R51).
--
-- * reputation_scores gains the role (a contributor's record as a submitter and as a
--   reviewer are separate measures), the evidence masses the score is computed from, and
--   the score function itself, so the incremental update of the job and the full
--   recompute share one exact formula.
-- * project_lessons gains the detection key of automatically opened lessons (one lesson
--   per repeated failure) and the link an implemented lesson must name: the guide
--   version or the checker component (registry digest) that carries the change.
--
-- Both tables were written by nothing before this migration, so the key change of
-- reputation_scores is safe.

-- ---------------------------------------------------------------------------------------
-- Reputation scores
-- ---------------------------------------------------------------------------------------

ALTER TABLE reputation_scores DROP CONSTRAINT reputation_scores_pkey;
ALTER TABLE reputation_scores
    ADD COLUMN role                   text NOT NULL DEFAULT 'submitter',
    ADD COLUMN revision_closed_count  integer NOT NULL DEFAULT 0,
    ADD COLUMN clear_review_count     integer NOT NULL DEFAULT 0,
    ADD COLUMN unclear_feedback_count integer NOT NULL DEFAULT 0,
    ADD COLUMN positive_mass          numeric(14, 4) NOT NULL DEFAULT 0,
    ADD COLUMN negative_mass          numeric(14, 4) NOT NULL DEFAULT 0,
    ADD COLUMN delta_sum              numeric(14, 4) NOT NULL DEFAULT 0,
    ADD CONSTRAINT reputation_scores_pkey PRIMARY KEY (actor_id, role, skill_tag),
    ADD CONSTRAINT reputation_scores_role_valid CHECK (role IN ('submitter', 'reviewer')),
    ADD CONSTRAINT reputation_scores_masses_nonnegative CHECK (positive_mass >= 0 AND negative_mass >= 0),
    ADD CONSTRAINT reputation_scores_more_counts_nonnegative CHECK (
        revision_closed_count >= 0 AND clear_review_count >= 0 AND unclear_feedback_count >= 0),
    ADD CONSTRAINT reputation_scores_score_range CHECK (score >= 0 AND score <= 100);
ALTER TABLE reputation_scores ALTER COLUMN role DROP DEFAULT;

-- The score: 100 x the lower bound of the 95% Wilson score interval of the positive
-- share of the evidence. Every point of |score_delta| is one unit of evidence, positive
-- or negative, so an accept on a hard task (+6) weighs as much as two rejects (-3 each).
-- A lower bound, not the raw rate, so that one lucky accept does not outrank a long
-- record: with no evidence the score is 0, and it rises towards the observed rate as
-- evidence accumulates. Numeric arithmetic throughout, rounded to 4 places: the same
-- masses always give the same score, whichever path computed them.
CREATE FUNCTION workstream_reputation_score(positive numeric, negative numeric) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    z2 constant numeric := 3.8416;   -- 1.96 squared
    n numeric := positive + negative;
    p numeric;
    bound numeric;
BEGIN
    IF n <= 0 THEN
        RETURN 0;
    END IF;
    p := positive / n;
    bound := (p + z2 / (2 * n) - sqrt(z2 * (p * (1 - p) / n + z2 / (4 * n * n)))) / (1 + z2 / n);
    RETURN round(greatest(0, least(1, bound)) * 100, 4);
END;
$$;

-- ---------------------------------------------------------------------------------------
-- Project lessons
-- ---------------------------------------------------------------------------------------

-- A detected lesson has no human author: the detection key names the repeated failure
-- it records (e.g. 'repeated_revision_loop:task:<uuid>', 'checker_failure:<checker>:<code>'),
-- once per project. A recorded lesson has an author and no key.
ALTER TABLE project_lessons ALTER COLUMN created_by DROP NOT NULL;
-- Target of the lesson's guide link.
ALTER TABLE project_guides ADD CONSTRAINT project_guides_project_key UNIQUE (id, project_id);
ALTER TABLE project_lessons
    ADD COLUMN detection_key               text,
    ADD COLUMN implemented_guide_id        uuid,
    ADD COLUMN implemented_checker_digest  text REFERENCES checker_components (digest),
    ADD CONSTRAINT project_lessons_detection_key_length CHECK (char_length(detection_key) BETWEEN 1 AND 300),
    ADD CONSTRAINT project_lessons_author_or_detection CHECK (
        created_by IS NOT NULL OR detection_key IS NOT NULL),
    ADD CONSTRAINT project_lessons_project_detection_key UNIQUE (project_id, detection_key),
    ADD CONSTRAINT project_lessons_implemented_guide_fk FOREIGN KEY (implemented_guide_id, project_id)
        REFERENCES project_guides (id, project_id),
    -- Implemented names what carries the change (R51: never a silent rule change);
    -- nothing else names one.
    ADD CONSTRAINT project_lessons_implementation_link CHECK (
        (status = 'implemented' AND num_nonnulls(implemented_guide_id, implemented_checker_digest) >= 1)
        OR (status <> 'implemented' AND implemented_guide_id IS NULL AND implemented_checker_digest IS NULL));
