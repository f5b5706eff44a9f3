-- Checker runs keep what their checkers saw, and why a check could not run.
--
-- A verdict must be reproducible from what was stored, not from the task as it is
-- later (a setup repair can change its acceptance criteria): the run stores the request
-- its checkers were given (phase, the packet's texts, the task's criteria and the prior
-- findings; the manifest is the submission's) and each result the digest of its own
-- request. Replay rebuilds every member's request from these and must find the same
-- digests before it runs anything.
--
-- Failures are visible where they are stored: a result that ended in an infrastructure
-- failure keeps the operator detail (the trap, the guest's `err` message, the broken
-- rule), and a run that could not be run at all (its packet unavailable, its locked
-- policy damaged, a fault that would recur on every attempt) keeps its own. Details are
-- for operators and managers; contributor views never show them.

ALTER TABLE checker_runs
    ADD COLUMN request        jsonb,
    ADD COLUMN failure_detail text,
    ADD CONSTRAINT checker_runs_request_object CHECK (jsonb_typeof(request) = 'object'),
    ADD CONSTRAINT checker_runs_failure_detail_length CHECK (char_length(failure_detail) <= 4096),
    ADD CONSTRAINT checker_runs_failure_detail_shape CHECK (failure_detail IS NULL OR failure_code IS NOT NULL);

ALTER TABLE checker_results
    ADD COLUMN request_digest text,
    ADD COLUMN failure_detail text,
    ADD CONSTRAINT checker_results_request_digest_format CHECK (request_digest ~ '^sha256:[0-9a-f]{64}$'),
    ADD CONSTRAINT checker_results_failure_detail_length CHECK (char_length(failure_detail) <= 4096),
    ADD CONSTRAINT checker_results_failure_detail_shape CHECK (failure_detail IS NULL OR failure_code IS NOT NULL);

-- The run guard of 0003, with `request` and `failure_detail` among the columns a run
-- may set while it is unfinished (both are written when it finishes).
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
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
            ARRAY['is_current_for_submission'], 'a finished checker run is immutable');
        RETURN NEW;
    END IF;
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
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
