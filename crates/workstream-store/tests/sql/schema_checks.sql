-- schema_checks.sql
--
-- psql verification of the Workstream schema: builds the valid chain of
-- fixture_chain.sql, then proves that every append-only table refuses UPDATE, DELETE and
-- TRUNCATE (SQLSTATE WS001) and that each named constraint and trigger rejects bad input
-- with the expected SQLSTATE and constraint name. Positive checks run their statement and
-- roll it back. Everything happens in one transaction that is rolled back at the end, so
-- the script can run against any freshly migrated database, any number of times:
--
--   psql -v ON_ERROR_STOP=1 -f crates/workstream-store/tests/sql/schema_checks.sql
--
-- Prints one line per check and a closing "N passed, M failed" line; exits non-zero if
-- any check failed.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset footer off
BEGIN;
SET LOCAL client_min_messages = warning;
-- Helper calls print nothing; the report at the end prints everything.
\o /dev/null

\ir fixture_chain.sql

-- ------------------------------------------------------------------------------------------
-- Harness
-- ------------------------------------------------------------------------------------------

CREATE TABLE pg_temp.check_results (n serial, label text, ok boolean, detail text);

-- Runs stmt in a subtransaction (deferred constraints forced at its end) and records
-- whether it failed with want_state (and want_constraint, when given). want_state 'WSOK0'
-- means "must succeed": the statement is then rolled back all the same.
CREATE FUNCTION pg_temp.expect(label text, stmt text, want_state text, want_constraint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    st  text;
    cn  text;
    msg text;
BEGIN
    BEGIN
        EXECUTE stmt;
        SET CONSTRAINTS ALL IMMEDIATE;
        RAISE EXCEPTION USING ERRCODE = 'WSOK0', MESSAGE = 'statement succeeded';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, cn = CONSTRAINT_NAME, msg = MESSAGE_TEXT;
    END;
    SET CONSTRAINTS ALL DEFERRED;
    INSERT INTO pg_temp.check_results (label, ok, detail) VALUES (
        label,
        st = want_state AND (want_constraint IS NULL OR cn IS NOT DISTINCT FROM want_constraint),
        format('want %s %s / got %s %s: %s', want_state, coalesce(want_constraint, ''), st, coalesce(cn, ''), msg));
END;
$f$;

CREATE FUNCTION pg_temp.expect_ok(label text, stmt text) RETURNS void LANGUAGE sql
    AS $f$ SELECT pg_temp.expect(label, stmt, 'WSOK0') $f$;

-- Builders for a second task ("T2") that needs fresh leases and review rounds.
CREATE FUNCTION pg_temp.rand_hash() RETURNS text LANGUAGE sql
    AS $f$ SELECT 'sha256:' || encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex') $f$;

-- A task of the fixture project, walked to in_progress with an active assignment for S.
CREATE FUNCTION pg_temp.new_task(task_id uuid, title text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO tasks (id, project_id, title, description, acceptance_criteria, rejection_criteria, created_by)
    VALUES (task_id, 'b0000000-0000-7000-8000-000000000001', title, 'd', 'ac', 'rc', 'a0000000-0000-7000-8000-000000000001');
    UPDATE tasks SET status = 'screening', locked_guide_id = g.id, locked_guide_version = g.version,
           locked_guide_activation_sequence = g.activation_sequence, locked_policy_bundle_hash = g.policy_bundle_hash,
           locked_artifact_policy_hash = g.artifact_policy_hash, locked_checker_policy = g.policy_bundle -> 'checker_policy',
           locked_checker_policy_hash = g.checker_policy_hash, locked_review_policy_hash = g.review_policy_hash,
           locked_revision_policy_hash = g.revision_policy_hash, locked_at = now()
      FROM project_guides g WHERE g.id = 'd0000000-0000-7000-8000-000000000001' AND tasks.id = task_id;
    UPDATE tasks SET status = 'ready', locked_contribution_policy_version_id = 'c3000000-0000-7000-8000-000000000001'
     WHERE id = task_id;
    UPDATE tasks SET status = 'claimed', assigned_to = 'a0000000-0000-7000-8000-000000000002' WHERE id = task_id;
    INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, submitter_contribution_policy_version_id)
    VALUES (gen_random_uuid(), task_id, 'a0000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000002',
            'c3000000-0000-7000-8000-000000000001');
    UPDATE tasks SET status = 'in_progress' WHERE id = task_id;
END;
$f$;

-- Admission + submission (copying the task's locks), task -> submitted -> evaluation_pending.
CREATE FUNCTION pg_temp.submit(task uuid, ver integer, supersedes uuid, prep uuid, remediation uuid)
RETURNS uuid LANGUAGE plpgsql AS $f$
DECLARE
    adm uuid := gen_random_uuid();
    sub uuid := gen_random_uuid();
    asg uuid := (SELECT id FROM task_assignments WHERE task_id = task AND status = 'active');
BEGIN
    INSERT INTO submission_bundle_admissions (id, task_id, task_assignment_id, contributor_id, archive_sha256,
            archive_byte_count, manifest, manifest_digest, locked_policy_bundle_hash)
    VALUES (adm, task, asg, 'a0000000-0000-7000-8000-000000000002', pg_temp.rand_hash(), 100, '{}',
            pg_temp.rand_hash(), pg_temp.h('1'));
    INSERT INTO submissions (id, project_id, task_id, task_assignment_id, contributor_id, version, summary,
            contributor_attestation, submission_bundle_admission_id, archive_sha256, archive_byte_count, manifest,
            manifest_digest, locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
            locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy, locked_checker_policy_hash,
            locked_review_policy_hash, locked_revision_policy_hash, contribution_policy_version_id,
            supersedes_submission_id, revision_context_preparation_id, remediation_source_checker_run_id)
    SELECT sub, t.project_id, t.id, asg, 'a0000000-0000-7000-8000-000000000002', ver, 's', 'attested', ad.id,
           ad.archive_sha256, ad.archive_byte_count, ad.manifest, ad.manifest_digest, t.locked_guide_id,
           t.locked_guide_version, t.locked_guide_activation_sequence, t.locked_policy_bundle_hash,
           t.locked_artifact_policy_hash, t.locked_checker_policy, t.locked_checker_policy_hash,
           t.locked_review_policy_hash, t.locked_revision_policy_hash, t.locked_contribution_policy_version_id,
           supersedes, prep, remediation
    FROM tasks t, submission_bundle_admissions ad WHERE t.id = task AND ad.id = adm;
    UPDATE submission_bundle_admissions SET state = 'consumed', consumed_at = now() WHERE id = adm;
    UPDATE tasks SET status = 'submitted' WHERE id = task;
    UPDATE tasks SET status = 'evaluation_pending' WHERE id = task;
    RETURN sub;
END;
$f$;

-- A checker run for the submission that completes with `routing`; review_pending on allow_review.
CREATE FUNCTION pg_temp.run_checks(sub uuid, routing text) RETURNS uuid LANGUAGE plpgsql AS $f$
DECLARE
    run  uuid := gen_random_uuid();
    prev uuid := (SELECT id FROM checker_runs WHERE submission_id = sub AND is_current_for_submission);
    s    submissions%ROWTYPE;
BEGIN
    SELECT * INTO s FROM submissions WHERE id = sub;
    UPDATE checker_runs SET is_current_for_submission = false WHERE id = prev;
    INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
            trigger_source, attempt_number, supersedes_checker_run_id, request_digest)
    VALUES (run, s.task_id, sub, s.version, s.manifest_digest, s.locked_checker_policy_hash,
            CASE WHEN prev IS NULL THEN 'submission_locked' ELSE 'retry' END,
            coalesce((SELECT max(attempt_number) FROM checker_runs WHERE submission_id = sub), 0) + 1,
            prev, pg_temp.rand_hash());
    UPDATE checker_runs SET status = 'running', started_at = now() WHERE id = run;
    UPDATE checker_runs SET status = 'completed', routing_recommendation = routing, completed_at = now(),
           result_digest = pg_temp.rand_hash() WHERE id = run;
    IF routing = 'allow_review' THEN
        UPDATE tasks SET status = 'review_pending' WHERE id = s.task_id AND status <> 'review_pending';
    END IF;
    RETURN run;
END;
$f$;

CREATE FUNCTION pg_temp.enqueue(sub uuid, run uuid) RETURNS uuid LANGUAGE plpgsql AS $f$
DECLARE
    entry uuid := gen_random_uuid();
BEGIN
    INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version, admitting_checker_run_id)
    SELECT entry, t.project_id, s.task_id, s.id, s.version, run
    FROM submissions s JOIN tasks t ON t.id = s.task_id WHERE s.id = sub;
    RETURN entry;
END;
$f$;

CREATE FUNCTION pg_temp.lease(entry uuid, reviewer uuid) RETURNS uuid LANGUAGE plpgsql AS $f$
DECLARE
    l uuid := gen_random_uuid();
BEGIN
    INSERT INTO review_leases (id, queue_entry_id, submission_id, reviewer_id, reviewer_contribution_policy_version_id,
            expires_at)
    SELECT l, e.id, e.submission_id, reviewer, s.contribution_policy_version_id, now() + interval '1 hour'
    FROM review_queue_entries e JOIN submissions s ON s.id = e.submission_id WHERE e.id = entry;
    RETURN l;
END;
$f$;

-- A review row on the lease (findings/resolutions are added by the caller).
CREATE FUNCTION pg_temp.review(rv uuid, l uuid, decision text, predecessor uuid) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO reviews (id, task_id, submission_id, review_lease_id, predecessor_review_id, reviewer_id, decision,
            reject_reason, acceptance_evidence_refs, locked_guide_version, locked_review_policy_hash)
    SELECT rv, s.task_id, s.id, l, predecessor, rl.reviewer_id, decision,
           CASE WHEN decision = 'reject' THEN 'off-guide' END,
           CASE WHEN decision = 'accept' THEN '["packet:x"]'::jsonb ELSE '[]'::jsonb END,
           s.locked_guide_version, s.locked_review_policy_hash
    FROM review_leases rl JOIN submissions s ON s.id = rl.submission_id WHERE rl.id = l;
END;
$f$;

-- Ends the active lease on the entry and closes the entry (steps 3-4 of the decision transaction, docs/lifecycle.md).
CREATE FUNCTION pg_temp.close_round(l uuid) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE review_leases SET disposition = 'consumed', ended_at = now() WHERE id = l;
    UPDATE review_queue_entries SET state = 'closed', closed_at = now(), closed_reason = 'review_recorded'
     WHERE id = (SELECT queue_entry_id FROM review_leases WHERE id = l);
END;
$f$;

CREATE FUNCTION pg_temp.prepare(prep uuid, task uuid, origin uuid, prior_sub uuid, seq integer, pred uuid,
                                outcome text, code text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    asg uuid := (SELECT id FROM task_assignments WHERE task_id = task AND status = 'active');
BEGIN
    INSERT INTO revision_context_preparations (id, task_id, originating_review_id, source_task_assignment_id,
        target_task_assignment_id, prior_submission_id, prior_submission_version, next_submission_version,
        prior_context, next_context, prior_guide_id, next_guide_id, prior_policy_bundle_hash, next_policy_bundle_hash,
        prior_contribution_policy_version_id, next_contribution_policy_version_id, outcome, blocked_reason_code,
        context_digest, preparation_sequence, predecessor_preparation_id, prepared_by)
    SELECT prep, task, origin, asg, asg, s.id, s.version, s.version + 1, '{}', '{}',
        'd0000000-0000-7000-8000-000000000001', 'd0000000-0000-7000-8000-000000000001', pg_temp.h('1'), pg_temp.h('1'),
        'c3000000-0000-7000-8000-000000000001', 'c3000000-0000-7000-8000-000000000001', outcome, code, pg_temp.h('d'),
        seq, pred, 'a0000000-0000-7000-8000-000000000003'
    FROM submissions s WHERE s.id = prior_sub;
END;
$f$;

-- T2 round 1: RV-a needs_revision with blocking F-a on v1, preparation P-a (kept),
-- task needs_revision.
CREATE FUNCTION pg_temp.t2_needs_revision() RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    l uuid := pg_temp.lease((SELECT entry FROM pg_temp.t2), 'a0000000-0000-7000-8000-000000000003');
BEGIN
    PERFORM pg_temp.review('f3000000-0000-7000-8000-0000000000a1', l, 'needs_revision', NULL);
    INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue, required_fix) VALUES
        ('f4000000-0000-7000-8000-0000000000a1', 'f3000000-0000-7000-8000-0000000000a1', 1, 'blocking', 'proof',
         'gap', 'fill it');
    PERFORM pg_temp.close_round(l);
    PERFORM pg_temp.prepare('f9000000-0000-7000-8000-0000000000a1', 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 1, NULL, 'kept', NULL);
    UPDATE tasks SET status = 'needs_revision' WHERE id = 'e0000000-0000-7000-8000-000000000002';
END;
$f$;

-- T2 round 2: v2 on P-a, checks pass, queued; returns the reviewer's lease on v2.
CREATE FUNCTION pg_temp.t2_round_two() RETURNS uuid LANGUAGE plpgsql AS $f$
DECLARE
    v2 uuid;
BEGIN
    PERFORM pg_temp.t2_needs_revision();
    v2 := pg_temp.submit('e0000000-0000-7000-8000-000000000002', 2, (SELECT sub FROM pg_temp.t2),
                         'f9000000-0000-7000-8000-0000000000a1', NULL);
    RETURN pg_temp.lease(pg_temp.enqueue(v2, pg_temp.run_checks(v2, 'allow_review')),
                         'a0000000-0000-7000-8000-000000000003');
END;
$f$;

-- T2 round 3: RV-b needs_revision resolving F-a and raising blocking F-b, P-b, v3 queued;
-- returns the reviewer's lease on v3.
CREATE FUNCTION pg_temp.t2_round_three() RETURNS uuid LANGUAGE plpgsql AS $f$
DECLARE
    l2 uuid := pg_temp.t2_round_two();
    v2 uuid := (SELECT submission_id FROM review_leases WHERE id = l2);
    v3 uuid;
BEGIN
    PERFORM pg_temp.review('f3000000-0000-7000-8000-0000000000b1', l2, 'needs_revision',
                           'f3000000-0000-7000-8000-0000000000a1');
    INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale) VALUES
        (gen_random_uuid(), 'f3000000-0000-7000-8000-0000000000b1', 'f4000000-0000-7000-8000-0000000000a1', v2,
         'resolved', 'done');
    INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue, required_fix) VALUES
        ('f4000000-0000-7000-8000-0000000000b1', 'f3000000-0000-7000-8000-0000000000b1', 1, 'blocking', 'tests',
         'no tests', 'add tests');
    PERFORM pg_temp.close_round(l2);
    PERFORM pg_temp.prepare('f9000000-0000-7000-8000-0000000000b1', 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000b1', v2, 1, NULL, 'kept', NULL);
    UPDATE tasks SET status = 'needs_revision' WHERE id = 'e0000000-0000-7000-8000-000000000002';
    v3 := pg_temp.submit('e0000000-0000-7000-8000-000000000002', 3, v2, 'f9000000-0000-7000-8000-0000000000b1', NULL);
    RETURN pg_temp.lease(pg_temp.enqueue(v3, pg_temp.run_checks(v3, 'allow_review')),
                         'a0000000-0000-7000-8000-000000000003');
END;
$f$;

-- T2 accepted in round 2 (the decision transaction's accept branch without the reviewer's unpaid record):
-- final acceptance, accepted_submission record and the 50 USD award
-- 'fd000000-0000-7000-8000-0000000000a1' (no receipt yet).
CREATE FUNCTION pg_temp.t2_accept() RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    l2  uuid := pg_temp.t2_round_two();
    v2  submissions%ROWTYPE;
BEGIN
    SELECT s.* INTO v2 FROM submissions s JOIN review_leases l ON l.submission_id = s.id WHERE l.id = l2;
    PERFORM pg_temp.review('f3000000-0000-7000-8000-0000000000b1', l2, 'accept', 'f3000000-0000-7000-8000-0000000000a1');
    INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale) VALUES
        (gen_random_uuid(), 'f3000000-0000-7000-8000-0000000000b1', 'f4000000-0000-7000-8000-0000000000a1', v2.id,
         'resolved', 'done');
    PERFORM pg_temp.close_round(l2);
    INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, accepted_submitter_id,
        recorded_by, review_policy_hash)
    VALUES ('fc000000-0000-7000-8000-0000000000a1', v2.project_id, v2.task_id, v2.id,
        'f3000000-0000-7000-8000-0000000000b1', v2.contributor_id, 'a0000000-0000-7000-8000-000000000003', pg_temp.h('4'));
    UPDATE tasks SET status = 'accepted' WHERE id = v2.task_id;
    UPDATE task_assignments SET status = 'completed', accepted_at = now() WHERE id = v2.task_assignment_id;
    INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
        source_final_acceptance_id, source_task_assignment_id, artifact_hash, contribution_policy_version_id)
    VALUES ('f7000000-0000-7000-8000-0000000000a1', v2.project_id, v2.task_id, v2.id, 'accepted_submission',
        v2.contributor_id, 'fc000000-0000-7000-8000-0000000000a1', v2.task_assignment_id, v2.archive_sha256,
        v2.contribution_policy_version_id);
    INSERT INTO compensation_awards (id, project_id, contribution_record_id, contribution_type, contributor_id,
        contribution_policy_version_id, award_definition_id, adapter_binding_id, instrument_type, unit_code, quantity)
    SELECT 'fd000000-0000-7000-8000-0000000000a1', v2.project_id, 'f7000000-0000-7000-8000-0000000000a1',
           d.contribution_type, v2.contributor_id, d.version_id, d.id, d.adapter_binding_id, d.instrument_type,
           d.unit_code, d.quantity
    FROM contribution_award_definitions d WHERE d.id = 'c5000000-0000-7000-8000-000000000001';
END;
$f$;

-- A retry attempt (attempt 2, running) of T2's v1 run: 'e5000000-0000-7000-8000-0000000000f1'.
CREATE FUNCTION pg_temp.t2_retry() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE checker_runs SET is_current_for_submission = false WHERE id = (SELECT run FROM pg_temp.t2);
    INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
        trigger_source, attempt_number, supersedes_checker_run_id, request_digest)
    SELECT 'e5000000-0000-7000-8000-0000000000f1', task_id, submission_id, submission_version, packet_digest,
           policy_hash, 'retry', 2, id, request_digest FROM checker_runs WHERE id = (SELECT run FROM pg_temp.t2);
    UPDATE checker_runs SET status = 'running', started_at = now() WHERE id = 'e5000000-0000-7000-8000-0000000000f1';
END;
$f$;

-- T2: a second task of the fixture project, in review_pending with a pending entry, and
-- T3: a third one, also in review_pending (for "one active lease per reviewer").
SELECT pg_temp.new_task('e0000000-0000-7000-8000-000000000002', 'Second task');
SELECT pg_temp.new_task('e0000000-0000-7000-8000-000000000003', 'Third task');
CREATE TABLE pg_temp.t2 AS SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 1, NULL, NULL, NULL) AS sub;
CREATE TABLE pg_temp.t3 AS SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000003', 1, NULL, NULL, NULL) AS sub;
ALTER TABLE pg_temp.t2 ADD COLUMN run uuid, ADD COLUMN entry uuid;
ALTER TABLE pg_temp.t3 ADD COLUMN run uuid, ADD COLUMN entry uuid;
UPDATE pg_temp.t2 SET run = pg_temp.run_checks(sub, 'allow_review');
UPDATE pg_temp.t2 SET entry = pg_temp.enqueue(sub, run);
UPDATE pg_temp.t3 SET run = pg_temp.run_checks(sub, 'allow_review');
UPDATE pg_temp.t3 SET entry = pg_temp.enqueue(sub, run);

-- ------------------------------------------------------------------------------------------
-- 1. Append-only tables: UPDATE, DELETE and TRUNCATE are refused with WS001
-- ------------------------------------------------------------------------------------------

-- TRUNCATE refuses tables with pending deferred trigger events (55006): fire the
-- fixture's deferred review checks now.
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('audit_events', 'id'), ('reviews', 'id'), ('review_findings', 'id'),
        ('submission_finding_responses', 'id'), ('finding_resolutions', 'id'),
        ('revision_context_preparations', 'id'), ('final_acceptances', 'id'),
        ('contribution_records', 'id'), ('compensation_awards', 'id'),
        ('compensation_fulfillment_receipts', 'id'), ('checker_results', 'id'),
        ('checker_components', 'digest'), ('submissions', 'id'), ('packet_files', 'id'),
        ('reputation_events', 'id'), ('contribution_rules', 'id'),
        ('contribution_award_definitions', 'id'), ('project_role_qualification_snapshots', 'id'),
        ('review_packet_manifests', 'id'), ('audit_ledger', 'leaf_index'),
        ('audit_tree_nodes', 'index'), ('audit_checkpoints', 'tree_size'),
        ('audit_checkpoint_publications', 'tree_size')) AS v (tbl, pk)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = t.tbl) THEN
            RAISE EXCEPTION 'unknown table %', t.tbl;
        END IF;
        PERFORM pg_temp.expect(t.tbl || ': UPDATE refused',
            format('UPDATE %I SET %I = %I', t.tbl, t.pk, t.pk), 'WS001', t.tbl || '_append_only');
        PERFORM pg_temp.expect(t.tbl || ': DELETE refused',
            format('DELETE FROM %I', t.tbl), 'WS001', t.tbl || '_append_only');
        PERFORM pg_temp.expect(t.tbl || ': TRUNCATE refused',
            format('TRUNCATE %I CASCADE', t.tbl), 'WS001');
        PERFORM pg_temp.expect(t.tbl || ': has rows to protect',
            format('DO $x$ BEGIN IF NOT EXISTS (SELECT 1 FROM %I) THEN RAISE EXCEPTION USING ERRCODE = %L; END IF; END $x$',
                   t.tbl, 'WSNO0'), 'WSOK0');
    END LOOP;
END;
$$;

-- ------------------------------------------------------------------------------------------
-- 2. [I*] and lifecycle guards
-- ------------------------------------------------------------------------------------------

-- Guides (R6, AS06, AS07)
SELECT pg_temp.expect('active guide: content edit refused',
    $$UPDATE project_guides SET content_markdown = 'edited' WHERE id = 'd0000000-0000-7000-8000-000000000001'$$,
    'WS001', 'project_guides_freeze');
SELECT pg_temp.expect('active guide: bundle edit refused',
    $$UPDATE project_guides SET policy_bundle = '{}' WHERE id = 'd0000000-0000-7000-8000-000000000001'$$,
    'WS001', 'project_guides_freeze');
SELECT pg_temp.expect('active guide: back to draft refused',
    $$UPDATE project_guides SET status = 'draft', activation_sequence = NULL, effective_at = NULL
      WHERE id = 'd0000000-0000-7000-8000-000000000001'$$, 'WS002', 'project_guides_status_transition');
SELECT pg_temp.expect('active guide: delete refused',
    $$DELETE FROM project_guides WHERE id = 'd0000000-0000-7000-8000-000000000001'$$, 'WS001', 'project_guides_freeze');
SELECT pg_temp.expect('second active guide per project refused',
    $$INSERT INTO project_guides (id, project_id, version, status, activation_sequence, policy_bundle, policy_bundle_hash,
        artifact_policy_hash, checker_policy_hash, review_policy_hash, revision_policy_hash, contribution_policy_version_id,
        approved_by, effective_at, created_by)
      VALUES ('d0000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'v2', 'active', 2, '{}',
        pg_temp.h('1'), pg_temp.h('2'), pg_temp.h('3'), pg_temp.h('4'), pg_temp.h('5'),
        'c3000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001', now(),
        'a0000000-0000-7000-8000-000000000001')$$,
    '23505', 'project_guides_one_active_per_project');
SELECT pg_temp.expect_ok('supersede v1 and activate v2; v1 stays frozen', $$
    INSERT INTO project_guides (id, project_id, version, created_by)
      VALUES ('d0000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'v2',
              'a0000000-0000-7000-8000-000000000001');
    UPDATE project_guides SET content_markdown = 'draft edits are fine' WHERE id = 'd0000000-0000-7000-8000-000000000002';
    UPDATE project_guides SET status = 'superseded', superseded_at = now() WHERE id = 'd0000000-0000-7000-8000-000000000001';
    UPDATE project_guides SET status = 'active', activation_sequence = 2, policy_bundle = '{}',
        policy_bundle_hash = pg_temp.h('6'), artifact_policy_hash = pg_temp.h('2'), checker_policy_hash = pg_temp.h('3'),
        review_policy_hash = pg_temp.h('4'), revision_policy_hash = pg_temp.h('5'),
        contribution_policy_version_id = 'c3000000-0000-7000-8000-000000000001',
        approved_by = 'a0000000-0000-7000-8000-000000000001', effective_at = now()
      WHERE id = 'd0000000-0000-7000-8000-000000000002';
    DO $x$ BEGIN
      UPDATE project_guides SET content_markdown = 'x' WHERE id = 'd0000000-0000-7000-8000-000000000001';
      RAISE EXCEPTION 'superseded guide was editable';
    EXCEPTION WHEN SQLSTATE 'WS001' THEN NULL; END $x$;
$$);
SELECT pg_temp.expect('activation_sequence must grow', $$
    UPDATE project_guides SET status = 'superseded', superseded_at = now() WHERE id = 'd0000000-0000-7000-8000-000000000001';
    INSERT INTO project_guides (id, project_id, version, status, activation_sequence, policy_bundle, policy_bundle_hash,
        artifact_policy_hash, checker_policy_hash, review_policy_hash, revision_policy_hash, contribution_policy_version_id,
        approved_by, effective_at, created_by)
      VALUES ('d0000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'v2', 'active', 1, '{}',
        pg_temp.h('1'), pg_temp.h('2'), pg_temp.h('3'), pg_temp.h('4'), pg_temp.h('5'),
        'c3000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001', now(),
        'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'project_guides_activation_sequence_increasing');
SELECT pg_temp.expect('activation needs the current published contribution version (AS03)', $$
    UPDATE project_guides SET status = 'superseded', superseded_at = now() WHERE id = 'd0000000-0000-7000-8000-000000000001';
    UPDATE contribution_policies SET status = 'retired', retired_at = now(), retired_by = 'a0000000-0000-7000-8000-000000000001'
      WHERE id = 'c2000000-0000-7000-8000-000000000001';
    INSERT INTO project_guides (id, project_id, version, status, activation_sequence, policy_bundle, policy_bundle_hash,
        artifact_policy_hash, checker_policy_hash, review_policy_hash, revision_policy_hash, contribution_policy_version_id,
        approved_by, effective_at, created_by)
      VALUES ('d0000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'v2', 'active', 2, '{}',
        pg_temp.h('1'), pg_temp.h('2'), pg_temp.h('3'), pg_temp.h('4'), pg_temp.h('5'),
        'c3000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001', now(),
        'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'project_guides_contribution_policy_current');
SELECT pg_temp.expect('guide: active without bundle refused',
    $$INSERT INTO project_guides (id, project_id, version, status, activation_sequence, approved_by, effective_at,
        contribution_policy_version_id, created_by)
      VALUES ('d0000000-0000-7000-8000-000000000003', 'b0000000-0000-7000-8000-000000000001', 'v3', 'active', 3,
        'a0000000-0000-7000-8000-000000000001', now(), 'c3000000-0000-7000-8000-000000000001',
        'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'project_guides_lifecycle_shape');

-- Contribution policy versions, rules, definitions (docs/rules.md)
SELECT pg_temp.expect('published version: edit refused',
    $$UPDATE contribution_policy_versions SET draft_terms = '{}' WHERE id = 'c3000000-0000-7000-8000-000000000001'$$,
    'WS001', 'contribution_policy_versions_freeze');
SELECT pg_temp.expect('published version: back to draft refused',
    $$UPDATE contribution_policy_versions SET status = 'draft', published_at = NULL, published_by = NULL
      WHERE id = 'c3000000-0000-7000-8000-000000000001'$$, 'WS002', 'contribution_policy_versions_status_transition');
SELECT pg_temp.expect('published version: delete refused',
    $$DELETE FROM contribution_policy_versions WHERE id = 'c3000000-0000-7000-8000-000000000001'$$,
    'WS001', 'contribution_policy_versions_freeze');
SELECT pg_temp.expect_ok('published version: retirement allowed',
    $$UPDATE contribution_policy_versions SET status = 'retired', retired_at = now(),
        retired_by = 'a0000000-0000-7000-8000-000000000001' WHERE id = 'c3000000-0000-7000-8000-000000000001'$$);
SELECT pg_temp.expect('rule on a published version refused',
    $$INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode)
      VALUES (gen_random_uuid(), 'c3000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
              'accepted_submission', 'unpaid')$$,
    '23514', 'contribution_rules_version_draft');
CREATE FUNCTION pg_temp.draft_version() RETURNS void LANGUAGE sql AS $f$
    INSERT INTO contribution_policy_versions (id, contribution_policy_id, project_id, version_number, created_by)
    VALUES ('c3000000-0000-7000-8000-000000000002', 'c2000000-0000-7000-8000-000000000001',
            'b0000000-0000-7000-8000-000000000001', 2, 'a0000000-0000-7000-8000-000000000001');
    INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode) VALUES
        ('c4000000-0000-7000-8000-000000000003', 'c3000000-0000-7000-8000-000000000002',
         'b0000000-0000-7000-8000-000000000001', 'accepted_submission', 'compensated');
$f$;
SELECT pg_temp.expect('publish without both rules refused', $$
    SELECT pg_temp.draft_version();
    UPDATE contribution_policy_versions SET status = 'published', published_at = now(),
        published_by = 'a0000000-0000-7000-8000-000000000001' WHERE id = 'c3000000-0000-7000-8000-000000000002'$$,
    '23514', 'contribution_policy_versions_complete');
SELECT pg_temp.expect('publish compensated rule without definition refused', $$
    SELECT pg_temp.draft_version();
    INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode) VALUES
        (gen_random_uuid(), 'c3000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001',
         'completed_review', 'unpaid');
    UPDATE contribution_policy_versions SET status = 'published', published_at = now(),
        published_by = 'a0000000-0000-7000-8000-000000000001' WHERE id = 'c3000000-0000-7000-8000-000000000002'$$,
    '23514', 'contribution_policy_versions_complete');
SELECT pg_temp.expect('duplicate rule per contribution type refused', $$
    SELECT pg_temp.draft_version();
    INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode) VALUES
        (gen_random_uuid(), 'c3000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001',
         'accepted_submission', 'unpaid')$$,
    '23505', 'contribution_rules_version_type_key');
CREATE FUNCTION pg_temp.definition_sql(instrument text, unit text, qty text, rule text DEFAULT 'c4000000-0000-7000-8000-000000000003')
RETURNS text LANGUAGE sql AS $f$
    SELECT format($s$SELECT pg_temp.draft_version();
        INSERT INTO contribution_award_definitions (id, rule_id, version_id, project_id, contribution_type,
            instrument_type, unit_code, quantity, adapter_binding_id)
        VALUES (gen_random_uuid(), %L, 'c3000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001',
            'accepted_submission', %L, %L, %s, 'c1000000-0000-7000-8000-000000000001')$s$, rule, instrument, unit, qty)
$f$;
SELECT pg_temp.expect('definition quantity 0 refused', pg_temp.definition_sql('money', 'USD', '0'),
    '23514', 'contribution_award_definitions_quantity_positive');
SELECT pg_temp.expect('definition quantity -5 refused', pg_temp.definition_sql('money', 'USD', '-5'),
    '23514', 'contribution_award_definitions_quantity_positive');
SELECT pg_temp.expect('definition quantity over 20 integer digits refused',
    pg_temp.definition_sql('money', 'USD', '123456789012345678901'), '22003');
SELECT pg_temp.expect('definition in a unit the project lacks refused', pg_temp.definition_sql('money', 'EUR', '5'),
    '23503', 'contribution_award_definitions_unit_fk');
SELECT pg_temp.expect('points definition through a money binding refused', pg_temp.definition_sql('project_points', 'pts', '10'),
    '23503', 'contribution_award_definitions_binding_fk');
SELECT pg_temp.expect_ok('valid money definition on a draft version', pg_temp.definition_sql('money', 'USD', '12.5'));
SELECT pg_temp.expect('definition under an unpaid rule refused', $$
    SELECT pg_temp.draft_version();
    INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode) VALUES
        ('c4000000-0000-7000-8000-000000000004', 'c3000000-0000-7000-8000-000000000002',
         'b0000000-0000-7000-8000-000000000001', 'completed_review', 'unpaid');
    INSERT INTO contribution_award_definitions (id, rule_id, version_id, project_id, contribution_type,
        instrument_type, unit_code, quantity, adapter_binding_id)
    VALUES (gen_random_uuid(), 'c4000000-0000-7000-8000-000000000004', 'c3000000-0000-7000-8000-000000000002',
        'b0000000-0000-7000-8000-000000000001', 'completed_review', 'money', 'USD', 1,
        'c1000000-0000-7000-8000-000000000001')$$,
    '23514', 'contribution_award_definitions_rule_compensated');
SELECT pg_temp.expect('active contribution policy without a published version refused',
    $$INSERT INTO contribution_policies (id, project_id, name, status, created_by)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'Other', 'active',
              'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'contribution_policies_active_has_version');

-- Checker runs and results (docs/lifecycle.md, R20-R23)
SELECT pg_temp.expect('completed run: routing change refused',
    $$UPDATE checker_runs SET routing_recommendation = 'needs_revision'
      WHERE id = 'e5000000-0000-7000-8000-000000000001'$$, 'WS002', 'checker_runs_status_transition');
SELECT pg_temp.expect('completed run: result digest change refused',
    $$UPDATE checker_runs SET result_digest = pg_temp.h('0') WHERE id = 'e5000000-0000-7000-8000-000000000001'$$,
    'WS001', 'checker_runs_freeze');
SELECT pg_temp.expect('completed run: delete refused',
    $$DELETE FROM checker_runs WHERE id = 'e5000000-0000-7000-8000-000000000001'$$, 'WS001', 'checker_runs_freeze');
SELECT pg_temp.expect_ok('completed run: may stop being current',
    $$UPDATE checker_runs SET is_current_for_submission = false WHERE id = 'e5000000-0000-7000-8000-000000000001'$$);
SELECT pg_temp.expect('superseded run cannot become current again', $$
    UPDATE checker_runs SET is_current_for_submission = false WHERE id = 'e5000000-0000-7000-8000-000000000001';
    UPDATE checker_runs SET is_current_for_submission = true WHERE id = 'e5000000-0000-7000-8000-000000000001'$$,
    'WS001', 'checker_runs_freeze');
SELECT pg_temp.expect('completed run cannot restart',
    $$UPDATE checker_runs SET status = 'running' WHERE id = 'e5000000-0000-7000-8000-000000000001'$$,
    'WS002', 'checker_runs_status_transition');
SELECT pg_temp.expect('second current run per submission refused',
    $$INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
        trigger_source, attempt_number, supersedes_checker_run_id, request_digest)
      SELECT gen_random_uuid(), task_id, submission_id, submission_version, packet_digest, policy_hash, 'retry', 2, id,
             request_digest FROM checker_runs WHERE id = 'e5000000-0000-7000-8000-000000000002'$$,
    '23505', 'checker_runs_one_current_per_submission');
SELECT pg_temp.expect('run for an older submission version refused (AS28)',
    $$INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
        trigger_source, attempt_number, supersedes_checker_run_id, request_digest, is_current_for_submission)
      SELECT gen_random_uuid(), task_id, submission_id, submission_version, packet_digest, policy_hash, 'retry', 2, id,
             request_digest, false FROM checker_runs WHERE id = 'e5000000-0000-7000-8000-000000000001'$$,
    '23514', 'checker_runs_latest_submission');
SELECT pg_temp.expect('run binding a different packet digest refused (R20)',
    $$INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
        trigger_source, attempt_number, supersedes_checker_run_id, request_digest, is_current_for_submission)
      SELECT gen_random_uuid(), task_id, submission_id, submission_version, pg_temp.h('0'), policy_hash, 'retry', 2, id,
             request_digest, false FROM checker_runs WHERE id = (SELECT run FROM pg_temp.t2)$$,
    '23503', 'checker_runs_submission_fk');
SELECT pg_temp.expect('retry attempt must name the attempt it supersedes',
    $$SELECT pg_temp.t2_retry(); UPDATE pg_temp.t2 SET run = run WHERE false;
      INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
        trigger_source, attempt_number, request_digest, is_current_for_submission)
      SELECT gen_random_uuid(), task_id, submission_id, submission_version, packet_digest, policy_hash, 'retry', 3,
             request_digest, false FROM checker_runs WHERE id = 'e5000000-0000-7000-8000-0000000000f1'$$,
    '23514', 'checker_runs_attempt_chain');
SELECT pg_temp.expect('failed run needs a failure code', $$
    SELECT pg_temp.t2_retry();
    UPDATE checker_runs SET status = 'failed', routing_recommendation = 'checker_retry', completed_at = now()
     WHERE id = 'e5000000-0000-7000-8000-0000000000f1'$$,
    '23514', 'checker_runs_status_shape');
SELECT pg_temp.expect('completed run cannot stay not_evaluated', $$
    SELECT pg_temp.t2_retry();
    UPDATE checker_runs SET status = 'completed', completed_at = now(), result_digest = pg_temp.h('b')
     WHERE id = 'e5000000-0000-7000-8000-0000000000f1'$$,
    '23514', 'checker_runs_status_shape');
SELECT pg_temp.expect_ok('errored result then failed run (never a pass)', $$
    SELECT pg_temp.t2_retry();
    INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, checker_version,
        config_hash, status, severity, failure_code, result_digest)
      SELECT gen_random_uuid(), 'e5000000-0000-7000-8000-0000000000f1', 0, digest, name, version, pg_temp.h('c'),
             'errored', 'high', 'deadline_exceeded', pg_temp.h('b') FROM checker_components;
    UPDATE checker_runs SET status = 'failed', routing_recommendation = 'checker_retry', completed_at = now(),
        failure_code = 'deadline_exceeded' WHERE id = 'e5000000-0000-7000-8000-0000000000f1'$$);
SELECT pg_temp.expect('errored result with a verdict refused', $$
    SELECT pg_temp.t2_retry();
    INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, checker_version,
        config_hash, status, severity, verdict, failure_code, result_digest)
      SELECT gen_random_uuid(), 'e5000000-0000-7000-8000-0000000000f1', 0, digest, name, version, pg_temp.h('c'),
             'errored', 'high', 'passed', 'deadline_exceeded', pg_temp.h('b') FROM checker_components$$,
    '23514', 'checker_results_errored_shape');
SELECT pg_temp.expect('same checker and config twice in a run refused', $$
    SELECT pg_temp.t2_retry();
    INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, checker_version,
        config_hash, status, severity, verdict, result_digest)
      SELECT gen_random_uuid(), 'e5000000-0000-7000-8000-0000000000f1', o, digest, name, version, pg_temp.h('c'),
             'passed', 'info', 'passed', pg_temp.h('b') FROM checker_components, generate_series(0, 1) AS o$$,
    '23505', 'checker_results_run_checker_key');
SELECT pg_temp.expect('result on a completed run refused',
    $$INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, checker_version,
        config_hash, status, severity, verdict, result_digest)
      SELECT gen_random_uuid(), 'e5000000-0000-7000-8000-000000000002', 1, digest, name, version, pg_temp.h('0'),
             'passed', 'info', 'passed', pg_temp.h('b') FROM checker_components$$,
    '23514', 'checker_results_run_running');
SELECT pg_temp.expect('checker digest must match the bytes',
    $$INSERT INTO checker_components (digest, name, version, config_schema, wasm_bytes, byte_count)
      VALUES (pg_temp.h('0'), 'x', '1', '{}', '\x00'::bytea, 1)$$,
    '23514', 'checker_components_bytes_match_digest');

-- Tasks (docs/lifecycle.md; R2, R11, R12)
SELECT pg_temp.expect('accepted task has no exit (AS33)',
    $$UPDATE tasks SET status = 'in_progress' WHERE id = 'e0000000-0000-7000-8000-000000000001'$$,
    'WS002', 'tasks_status_transition');
SELECT pg_temp.expect('submitted -> needs_revision refused (AS23)', $$
    SELECT pg_temp.new_task('e0000000-0000-7000-8000-000000000004', 'Fourth task');
    UPDATE tasks SET status = 'submitted' WHERE id = 'e0000000-0000-7000-8000-000000000004';
    UPDATE tasks SET status = 'needs_revision' WHERE id = 'e0000000-0000-7000-8000-000000000004'$$,
    'WS002', 'tasks_status_transition');
SELECT pg_temp.expect('in_progress -> accepted refused', $$
    SELECT pg_temp.new_task('e0000000-0000-7000-8000-000000000004', 'Fourth task');
    UPDATE tasks SET status = 'accepted' WHERE id = 'e0000000-0000-7000-8000-000000000004'$$,
    'WS002', 'tasks_status_transition');
SELECT pg_temp.expect('locked context frozen after release (R12)',
    $$UPDATE tasks SET locked_checker_policy = '{"checkers": ["x"]}' WHERE id = 'e0000000-0000-7000-8000-000000000002'$$,
    'WS001', 'tasks_locked_context_frozen');
SELECT pg_temp.expect('task delete refused',
    $$DELETE FROM tasks WHERE id = 'e0000000-0000-7000-8000-000000000001'$$, 'WS001', 'tasks_guard');
SELECT pg_temp.expect('screening task without locks refused (R11)',
    $$INSERT INTO tasks (id, project_id, title, status, created_by) VALUES (gen_random_uuid(),
      'b0000000-0000-7000-8000-000000000001', 't', 'screening', 'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'tasks_guide_lock_required');
SELECT pg_temp.expect('lock hashes must be the guide''s (R12)',
    $$INSERT INTO tasks (id, project_id, title, created_by, status, locked_guide_id, locked_guide_version,
        locked_guide_activation_sequence, locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy,
        locked_checker_policy_hash, locked_review_policy_hash, locked_revision_policy_hash, locked_at)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 't', 'a0000000-0000-7000-8000-000000000001',
        'screening', 'd0000000-0000-7000-8000-000000000001', 'v1', 1, pg_temp.h('9'), pg_temp.h('2'), '{}',
        pg_temp.h('3'), pg_temp.h('4'), pg_temp.h('5'), now())$$,
    '23503', 'tasks_guide_lock_fk');
SELECT pg_temp.expect('partial lock refused',
    $$INSERT INTO tasks (id, project_id, title, created_by, locked_guide_id)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 't', 'a0000000-0000-7000-8000-000000000001',
        'd0000000-0000-7000-8000-000000000001')$$,
    '23514', 'tasks_guide_lock_all_or_nothing');
SELECT pg_temp.expect('contribution lock must be the guide''s binding',
    $$INSERT INTO tasks (id, project_id, title, created_by, status, locked_guide_id, locked_guide_version,
        locked_guide_activation_sequence, locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy,
        locked_checker_policy_hash, locked_review_policy_hash, locked_revision_policy_hash, locked_at,
        locked_contribution_policy_version_id)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 't', 'a0000000-0000-7000-8000-000000000001',
        'ready', 'd0000000-0000-7000-8000-000000000001', 'v1', 1, pg_temp.h('1'), pg_temp.h('2'), '{}',
        pg_temp.h('3'), pg_temp.h('4'), pg_temp.h('5'), now(), 'c3000000-0000-7000-8000-0000000000ff')$$,
    '23503', 'tasks_contribution_lock_fk');
SELECT pg_temp.expect('lock on a superseded guide refused', $$
    UPDATE project_guides SET status = 'superseded', superseded_at = now() WHERE id = 'd0000000-0000-7000-8000-000000000001';
    SELECT pg_temp.new_task('e0000000-0000-7000-8000-000000000004', 'Fourth task')$$,
    '23514', 'tasks_locked_guide_active');
SELECT pg_temp.expect('task in review needs an assignee',
    $$UPDATE tasks SET assigned_to = NULL WHERE id = 'e0000000-0000-7000-8000-000000000002'$$,
    '23514', 'tasks_assignee_shape');

-- Assignments (R13, docs/lifecycle.md)
SELECT pg_temp.expect('second active assignment per task refused (R13)',
    $$INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, submitter_contribution_policy_version_id)
      VALUES (gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000003',
              'a0000000-0000-7000-8000-000000000001', 'c3000000-0000-7000-8000-000000000001')$$,
    '23505', 'tasks_one_active_assignment');
SELECT pg_temp.expect('service actor as contributor refused',
    $$INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, submitter_contribution_policy_version_id)
      VALUES (gen_random_uuid(), 'e0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000004',
              'a0000000-0000-7000-8000-000000000001', 'c3000000-0000-7000-8000-000000000001')$$,
    '23514', 'task_assignments_contributor_human');
SELECT pg_temp.expect('assignment copies the task''s policy lock',
    $$INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, submitter_contribution_policy_version_id)
      VALUES (gen_random_uuid(), 'e0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000005',
              'a0000000-0000-7000-8000-000000000001', 'c3000000-0000-7000-8000-0000000000ff')$$,
    '23514', 'task_assignments_policy_copied_from_task');
SELECT pg_temp.expect('closed assignment cannot reactivate',
    $$UPDATE task_assignments SET status = 'active' WHERE id = 'e1000000-0000-7000-8000-000000000001'$$,
    'WS002', 'task_assignments_status_transition');
SELECT pg_temp.expect('assignment changes hands refused',
    $$UPDATE task_assignments SET contributor_id = 'a0000000-0000-7000-8000-000000000005'
      WHERE task_id = 'e0000000-0000-7000-8000-000000000002'$$, 'WS001', 'task_assignments_guard');
SELECT pg_temp.expect('blocked assignment names its review (R31)',
    $$UPDATE task_assignments SET status = 'blocked' WHERE task_id = 'e0000000-0000-7000-8000-000000000002'$$,
    '23514', 'task_assignments_blocked_shape');

-- Submissions and packets (R17, R18)
SELECT pg_temp.expect('duplicate (task_id, version) refused',
    $$SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 1, NULL, NULL, NULL)$$,
    '23505', 'submissions_task_version_key');
SELECT pg_temp.expect('version 2 without a revision source refused (R18)',
    $$SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 2, (SELECT sub FROM pg_temp.t2), NULL, NULL)$$,
    '23514', 'submissions_revision_source');
SELECT pg_temp.expect('version 1 with a revision source refused (R18)',
    $$SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 1, NULL, NULL, (SELECT run FROM pg_temp.t2))$$,
    '23514', 'submissions_revision_source');
SELECT pg_temp.expect('version 2 with both revision sources refused (R18)',
    $$SELECT pg_temp.t2_needs_revision();
      SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 2, (SELECT sub FROM pg_temp.t2),
                            'f9000000-0000-7000-8000-0000000000a1', (SELECT run FROM pg_temp.t2))$$,
    '23514', 'submissions_remediation_run_valid');
SELECT pg_temp.expect('version skipping its predecessor refused',
    $$SELECT pg_temp.t2_needs_revision();
      SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 3, (SELECT sub FROM pg_temp.t2),
                            'f9000000-0000-7000-8000-0000000000a1', NULL)$$,
    '23514', 'submissions_supersedes_previous_version');
SELECT pg_temp.expect('remediation run must have routed needs_revision',
    $$SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 2, (SELECT sub FROM pg_temp.t2), NULL,
                            (SELECT run FROM pg_temp.t2))$$,
    '23514', 'submissions_remediation_run_valid');
SELECT pg_temp.expect_ok('checker remediation path (T9, T14)', $$
    SELECT pg_temp.t2_retry();
    UPDATE checker_runs SET status = 'completed', routing_recommendation = 'needs_revision', completed_at = now(),
        result_digest = pg_temp.h('b') WHERE id = 'e5000000-0000-7000-8000-0000000000f1';
    SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000003', 2, NULL, NULL, NULL) WHERE false;
    UPDATE review_queue_entries SET state = 'closed', closed_at = now(), closed_reason = 're_evaluation'
     WHERE id = (SELECT entry FROM pg_temp.t2);
    UPDATE tasks SET status = 'evaluation_pending' WHERE id = 'e0000000-0000-7000-8000-000000000002';
    UPDATE tasks SET status = 'needs_revision' WHERE id = 'e0000000-0000-7000-8000-000000000002';
    SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 2, (SELECT sub FROM pg_temp.t2), NULL,
                          'e5000000-0000-7000-8000-0000000000f1')$$);
SELECT pg_temp.expect('stamps must equal the task lock (R17)',
    $$INSERT INTO submissions (id, project_id, task_id, task_assignment_id, contributor_id, version, summary,
        contributor_attestation, submission_bundle_admission_id, archive_sha256, archive_byte_count, manifest,
        manifest_digest, locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
        locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy, locked_checker_policy_hash,
        locked_review_policy_hash, locked_revision_policy_hash, contribution_policy_version_id)
      SELECT gen_random_uuid(), project_id, task_id, task_assignment_id, contributor_id, 1, summary,
        contributor_attestation, submission_bundle_admission_id, archive_sha256, archive_byte_count, manifest,
        manifest_digest, locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
        locked_policy_bundle_hash, locked_artifact_policy_hash, '{"tampered": true}', locked_checker_policy_hash,
        locked_review_policy_hash, locked_revision_policy_hash, contribution_policy_version_id
      FROM submissions WHERE id = 'e3000000-0000-7000-8000-000000000001'$$,
    '23514', 'submissions_locks_match_task');
SELECT pg_temp.expect('one admission per submission',
    $$INSERT INTO submissions (id, project_id, task_id, task_assignment_id, contributor_id, version, summary,
        contributor_attestation, submission_bundle_admission_id, archive_sha256, archive_byte_count, manifest,
        manifest_digest, locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
        locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy, locked_checker_policy_hash,
        locked_review_policy_hash, locked_revision_policy_hash, contribution_policy_version_id,
        supersedes_submission_id, remediation_source_checker_run_id)
      SELECT gen_random_uuid(), project_id, task_id, task_assignment_id, contributor_id, 2, summary,
        contributor_attestation, submission_bundle_admission_id, archive_sha256, archive_byte_count, manifest,
        manifest_digest, locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
        locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy, locked_checker_policy_hash,
        locked_review_policy_hash, locked_revision_policy_hash, contribution_policy_version_id, id, NULL
      FROM submissions WHERE id = (SELECT sub FROM pg_temp.t2)$$,
    '23514', 'submissions_revision_source');
SELECT pg_temp.expect('admission consumed once',
    $$UPDATE submission_bundle_admissions SET state = 'ready', consumed_at = NULL
      WHERE id = 'e2000000-0000-7000-8000-000000000001'$$, 'WS002', 'submission_bundle_admissions_status_transition');
SELECT pg_temp.expect('admission content immutable',
    $$UPDATE submission_bundle_admissions SET archive_sha256 = pg_temp.h('0')
      WHERE id = 'e2000000-0000-7000-8000-000000000001'$$, 'WS001', 'submission_bundle_admissions_freeze');
SELECT pg_temp.expect('packet path traversal refused',
    $$INSERT INTO packet_files (id, submission_id, path, byte_count, sha256)
      VALUES (gen_random_uuid(), 'e3000000-0000-7000-8000-000000000001', 'outputs/../../etc/passwd', 1, pg_temp.h('f'))$$,
    '23514', 'packet_files_path_safe');
SELECT pg_temp.expect('packet absolute path refused',
    $$INSERT INTO packet_files (id, submission_id, path, byte_count, sha256)
      VALUES (gen_random_uuid(), 'e3000000-0000-7000-8000-000000000001', '/abs.txt', 1, pg_temp.h('f'))$$,
    '23514', 'packet_files_path_safe');
SELECT pg_temp.expect('packet backslash path refused',
    $$INSERT INTO packet_files (id, submission_id, path, byte_count, sha256)
      VALUES (gen_random_uuid(), 'e3000000-0000-7000-8000-000000000001', 'a\b.txt', 1, pg_temp.h('f'))$$,
    '23514', 'packet_files_path_safe');
SELECT pg_temp.expect_ok('packet dotfile path allowed',
    $$INSERT INTO packet_files (id, submission_id, path, byte_count, sha256)
      VALUES (gen_random_uuid(), 'e3000000-0000-7000-8000-000000000001', 'evidence/.hidden..name', 1, pg_temp.h('f'))$$);
SELECT pg_temp.expect('duplicate packet path refused',
    $$INSERT INTO packet_files (id, submission_id, path, byte_count, sha256)
      VALUES (gen_random_uuid(), 'e3000000-0000-7000-8000-000000000001', 'outputs/final-answer.md', 1, pg_temp.h('f'))$$,
    '23505', 'packet_files_submission_path_key');

-- Review queue and leases (R20, R25, R26, R35)
SELECT pg_temp.expect('second queue entry per submission refused',
    $$SELECT pg_temp.enqueue((SELECT sub FROM pg_temp.t2), (SELECT run FROM pg_temp.t2))$$,
    '23505', 'review_queue_entries_submission_key');
SELECT pg_temp.expect('entry admitted by a needs_revision run refused (R20)',
    $$SELECT pg_temp.enqueue((SELECT sub FROM pg_temp.t2), pg_temp.run_checks((SELECT sub FROM pg_temp.t2), 'needs_revision'))$$,
    '23514', 'review_queue_entries_admitting_run_allows_review');
SELECT pg_temp.expect('entry admitted by another submission''s run refused (AS19)', $$
    SELECT pg_temp.new_task('e0000000-0000-7000-8000-000000000004', 'Fourth task');
    SELECT pg_temp.run_checks(pg_temp.submit('e0000000-0000-7000-8000-000000000004', 1, NULL, NULL, NULL), 'allow_review');
    INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version, admitting_checker_run_id)
      SELECT gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', task_id, id, 1,
             'e5000000-0000-7000-8000-000000000002'
        FROM submissions WHERE task_id = 'e0000000-0000-7000-8000-000000000004'$$,
    '23503', 'review_queue_entries_admitting_run_fk');
SELECT pg_temp.expect('preferred routing needs reviewer and expiry (R35)',
    $$INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version,
        admitting_checker_run_id, routing)
      SELECT gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000003', sub, 1,
             run, 'preferred' FROM pg_temp.t3$$,
    '23514', 'review_queue_entries_preferred_shape');
SELECT pg_temp.expect('queue age never reset',
    $$UPDATE review_queue_entries SET enqueued_at = now() + interval '1 hour' WHERE id = (SELECT entry FROM pg_temp.t2)$$,
    'WS001', 'review_queue_entries_guard');
SELECT pg_temp.expect('self-review refused (R25, AS24)',
    $$SELECT pg_temp.lease((SELECT entry FROM pg_temp.t2), 'a0000000-0000-7000-8000-000000000002')$$,
    '23514', 'review_leases_no_self_review');
SELECT pg_temp.expect('lease on a closed entry refused',
    $$SELECT pg_temp.lease('f0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000005')$$,
    '23514', 'review_leases_entry_pending');
SELECT pg_temp.expect('second active lease per entry refused (R26)', $$
    SELECT pg_temp.lease((SELECT entry FROM pg_temp.t2), 'a0000000-0000-7000-8000-000000000003');
    SELECT pg_temp.lease((SELECT entry FROM pg_temp.t2), 'a0000000-0000-7000-8000-000000000005')$$,
    '23505', 'review_leases_one_active_per_entry');
SELECT pg_temp.expect('second active lease per reviewer refused (R26)', $$
    SELECT pg_temp.lease((SELECT entry FROM pg_temp.t2), 'a0000000-0000-7000-8000-000000000003');
    SELECT pg_temp.lease((SELECT entry FROM pg_temp.t3), 'a0000000-0000-7000-8000-000000000003')$$,
    '23505', 'review_leases_one_active_per_reviewer');
SELECT pg_temp.expect('lease must expire after issue',
    $$INSERT INTO review_leases (id, queue_entry_id, submission_id, reviewer_id, reviewer_contribution_policy_version_id,
        issued_at, expires_at)
      SELECT gen_random_uuid(), entry, sub, 'a0000000-0000-7000-8000-000000000003',
             'c3000000-0000-7000-8000-000000000001', now(), now() FROM pg_temp.t2$$,
    '23514', 'review_leases_expiry_after_issue');
SELECT pg_temp.expect('consumed lease cannot reactivate',
    $$UPDATE review_leases SET disposition = 'active', ended_at = NULL WHERE id = 'f1000000-0000-7000-8000-000000000001'$$,
    'WS002', 'review_leases_status_transition');
SELECT pg_temp.expect('lease cannot be extended or moved',
    $$UPDATE review_leases SET expires_at = expires_at + interval '1 day' WHERE id = 'f1000000-0000-7000-8000-000000000001'$$,
    'WS001', 'review_leases_guard');

-- Reviews and findings (R24, R28, R29, R32)
SELECT pg_temp.expect('reject without reason refused (AS28)', $$
    SELECT pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003') FROM pg_temp.t2;
    INSERT INTO reviews (id, task_id, submission_id, review_lease_id, reviewer_id, decision, locked_guide_version,
        locked_review_policy_hash)
    SELECT gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002', sub,
           (SELECT id FROM review_leases WHERE queue_entry_id = entry AND disposition = 'active'),
           'a0000000-0000-7000-8000-000000000003', 'reject', 'v1', pg_temp.h('4') FROM pg_temp.t2$$,
    '23514', 'reviews_reject_reason_required');
SELECT pg_temp.expect('accept without evidence refused (AS29)', $$
    SELECT pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003') FROM pg_temp.t2;
    INSERT INTO reviews (id, task_id, submission_id, review_lease_id, reviewer_id, decision, locked_guide_version,
        locked_review_policy_hash)
    SELECT gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002', sub,
           (SELECT id FROM review_leases WHERE queue_entry_id = entry AND disposition = 'active'),
           'a0000000-0000-7000-8000-000000000003', 'accept', 'v1', pg_temp.h('4') FROM pg_temp.t2$$,
    '23514', 'reviews_acceptance_evidence_required');
SELECT pg_temp.expect('unknown decision refused',
    $$SELECT pg_temp.review(gen_random_uuid(), pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003'), 'approve', NULL)
      FROM pg_temp.t2$$, '23514', 'reviews_decision_valid');
SELECT pg_temp.expect('decision on a consumed lease refused (AS33)',
    $$SELECT pg_temp.review(gen_random_uuid(), 'f1000000-0000-7000-8000-000000000002', 'reject',
                            'f3000000-0000-7000-8000-000000000002')$$,
    '23514', 'reviews_lease_active');
SELECT pg_temp.expect('review stamps must be the submission''s',
    $$INSERT INTO reviews (id, task_id, submission_id, review_lease_id, reviewer_id, decision, reject_reason,
        locked_guide_version, locked_review_policy_hash)
      SELECT gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002', sub,
             pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003'), 'a0000000-0000-7000-8000-000000000003',
             'reject', 'r', 'v9', pg_temp.h('4') FROM pg_temp.t2$$,
    '23514', 'reviews_locks_match_submission');
SELECT pg_temp.expect('review must name the latest predecessor',
    $$SELECT pg_temp.review(gen_random_uuid(), pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003'), 'reject',
                            'f3000000-0000-7000-8000-000000000001') FROM pg_temp.t2$$,
    '23514', 'reviews_predecessor_latest');
SELECT pg_temp.expect('needs_revision with only advisory findings refused (AS27)', $$
    SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000a1',
                          pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003'), 'needs_revision', NULL)
      FROM pg_temp.t2;
    INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue)
      VALUES (gen_random_uuid(), 'f3000000-0000-7000-8000-0000000000a1', 1, 'advisory', 'style', 'nit')$$,
    '23514', 'reviews_needs_revision_open_blocker');
SELECT pg_temp.expect('blocking finding without required fix refused (R29)', $$
    SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000a1',
                          pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003'), 'needs_revision', NULL)
      FROM pg_temp.t2;
    INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue)
      VALUES (gen_random_uuid(), 'f3000000-0000-7000-8000-0000000000a1', 1, 'blocking', 'proof', 'gap')$$,
    '23514', 'review_findings_blocking_requires_fix');
SELECT pg_temp.expect('blocking finding on an accept review refused',
    $$INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue, required_fix)
      VALUES (gen_random_uuid(), 'f3000000-0000-7000-8000-000000000002', 9, 'blocking', 'proof', 'gap', 'fix')$$,
    '23514', 'review_findings_no_blocking_on_accept');
SELECT pg_temp.expect_ok('reject with a reason, assignment blocked (T13)', $$
    SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000a1',
                          pg_temp.lease(entry, 'a0000000-0000-7000-8000-000000000003'), 'reject', NULL) FROM pg_temp.t2;
    UPDATE task_assignments SET status = 'blocked', blocking_review_id = 'f3000000-0000-7000-8000-0000000000a1'
     WHERE task_id = 'e0000000-0000-7000-8000-000000000002';
    UPDATE tasks SET status = 'rejected' WHERE id = 'e0000000-0000-7000-8000-000000000002'$$);
SELECT pg_temp.expect('blocking review from another task refused',
    $$UPDATE task_assignments SET status = 'blocked', blocking_review_id = 'f3000000-0000-7000-8000-000000000001'
      WHERE task_id = 'e0000000-0000-7000-8000-000000000002'$$,
    '23503', 'task_assignments_blocking_review_fk');

-- Revision replay (R32-R34, AS34-AS37)
SELECT pg_temp.expect_ok('T2 revision round trip builds', $$SELECT pg_temp.t2_round_two()$$);
SELECT pg_temp.expect('accept leaving a blocker open refused (R32)',
    $$SELECT pg_temp.review(gen_random_uuid(), pg_temp.t2_round_two(), 'accept', 'f3000000-0000-7000-8000-0000000000a1')$$,
    '23514', 'reviews_accept_no_open_blocker');
SELECT pg_temp.expect('accept with the blocker unresolved refused (AS36)', $$
    SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000b1', pg_temp.t2_round_two(), 'accept',
                          'f3000000-0000-7000-8000-0000000000a1');
    INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale)
    SELECT gen_random_uuid(), id, 'f4000000-0000-7000-8000-0000000000a1', submission_id, 'unresolved', 'still missing'
      FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000b1'$$,
    '23514', 'reviews_accept_no_open_blocker');
SELECT pg_temp.expect_ok('accept with the blocker resolved, through award', $$SELECT pg_temp.t2_accept()$$);
SELECT pg_temp.expect_ok('needs_revision keeping only the inherited blocker open (R29)', $$
    SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000b1', pg_temp.t2_round_two(), 'needs_revision',
                          'f3000000-0000-7000-8000-0000000000a1');
    INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale)
    SELECT gen_random_uuid(), id, 'f4000000-0000-7000-8000-0000000000a1', submission_id, 'unresolved', 'still missing'
      FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000b1'$$);
SELECT pg_temp.expect('needs_revision after resolving every blocker refused (R32)', $$
    SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000b1', pg_temp.t2_round_two(), 'needs_revision',
                          'f3000000-0000-7000-8000-0000000000a1');
    INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale)
    SELECT gen_random_uuid(), id, 'f4000000-0000-7000-8000-0000000000a1', submission_id, 'resolved', 'done'
      FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000b1'$$,
    '23514', 'reviews_needs_revision_open_blocker');
SELECT pg_temp.expect('resolution of a finding of the same review refused', $$
    SELECT pg_temp.t2_needs_revision();
    INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale)
    SELECT gen_random_uuid(), id, 'f4000000-0000-7000-8000-0000000000a1', submission_id, 'resolved', 'x'
      FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000a1'$$,
    '23514', 'finding_resolutions_prior_finding');
SELECT pg_temp.expect_ok('T2 third round builds', $$SELECT pg_temp.t2_round_three()$$);
SELECT pg_temp.expect('resolved finding cannot be closed again (AS37)', $$
    SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000c1', pg_temp.t2_round_three(), 'needs_revision',
                          'f3000000-0000-7000-8000-0000000000b1');
    INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale)
    SELECT gen_random_uuid(), id, 'f4000000-0000-7000-8000-0000000000a1', submission_id, 'resolved', 'again'
      FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000c1'$$,
    '23505', 'finding_resolutions_closed_once');
SELECT pg_temp.expect('second resolution per (review, finding) refused',
    $$INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale) VALUES
      (gen_random_uuid(), 'f3000000-0000-7000-8000-000000000002', 'f4000000-0000-7000-8000-000000000001',
       'e3000000-0000-7000-8000-000000000002', 'unresolved', 'again')$$,
    '23505', 'finding_resolutions_review_finding_key');
SELECT pg_temp.expect('response from another task''s preparation refused',
    $$INSERT INTO submission_finding_responses (id, finding_id, new_submission_id, task_assignment_id, preparation_id,
        preparation_digest, response_text)
    VALUES (gen_random_uuid(), 'f4000000-0000-7000-8000-000000000002', 'e3000000-0000-7000-8000-000000000001',
        'e1000000-0000-7000-8000-000000000001', 'f9000000-0000-7000-8000-000000000001', pg_temp.h('d'), 'answer')$$,
    '23514', 'submission_finding_responses_consistent');
SELECT pg_temp.expect('duplicate response per finding and submission refused',
    $$INSERT INTO submission_finding_responses (id, finding_id, new_submission_id, task_assignment_id, preparation_id,
        preparation_digest, response_text)
    VALUES (gen_random_uuid(), 'f4000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000002',
        'e1000000-0000-7000-8000-000000000001', 'f9000000-0000-7000-8000-000000000001', pg_temp.h('d'), 'again')$$,
    '23505', 'submission_finding_responses_finding_submission_key');
SELECT pg_temp.expect('response echoing a stale digest refused (R34)',
    $$INSERT INTO submission_finding_responses (id, finding_id, new_submission_id, task_assignment_id, preparation_id,
        preparation_digest, response_text)
    VALUES (gen_random_uuid(), 'f4000000-0000-7000-8000-000000000002', 'e3000000-0000-7000-8000-000000000002',
        'e1000000-0000-7000-8000-000000000001', 'f9000000-0000-7000-8000-000000000001', pg_temp.h('0'), 'x')$$,
    '23503', 'submission_finding_responses_preparation_fk');

-- Revision context preparations (docs/lifecycle.md, R33, R34)
SELECT pg_temp.expect('second root preparation per review refused', $$
    SELECT pg_temp.t2_needs_revision();
    SELECT pg_temp.prepare(gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 1, NULL, 'kept', NULL)$$,
    '23505', 'revision_context_preparations_review_sequence_key');
SELECT pg_temp.expect('branching chain refused', $$
    SELECT pg_temp.t2_needs_revision();
    SELECT pg_temp.prepare(gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 2, 'f9000000-0000-7000-8000-0000000000a1',
        'kept', NULL);
    SELECT pg_temp.prepare(gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 2, 'f9000000-0000-7000-8000-0000000000a1',
        'kept', NULL)$$,
    '23505', 'revision_context_preparations_review_sequence_key');
SELECT pg_temp.expect('skipping a sequence number refused', $$
    SELECT pg_temp.t2_needs_revision();
    SELECT pg_temp.prepare(gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 3, 'f9000000-0000-7000-8000-0000000000a1',
        'kept', NULL)$$,
    '23514', 'revision_context_preparations_chain');
SELECT pg_temp.expect('blocked preparation needs a reason code', $$
    SELECT pg_temp.t2_needs_revision();
    SELECT pg_temp.prepare(gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 2, 'f9000000-0000-7000-8000-0000000000a1',
        'blocked', NULL)$$,
    '23514', 'revision_context_preparations_outcome_shape');
SELECT pg_temp.expect('preparation from an accept review refused',
    $$SELECT pg_temp.prepare(gen_random_uuid(), 'e0000000-0000-7000-8000-000000000001',
        'f3000000-0000-7000-8000-000000000002', 'e3000000-0000-7000-8000-000000000002', 1, NULL, 'kept', NULL)$$,
    '23514', 'revision_context_preparations_origin_needs_revision');
SELECT pg_temp.expect('submission on a superseded preparation head refused (R34, AS39)', $$
    SELECT pg_temp.t2_needs_revision();
    SELECT pg_temp.prepare(gen_random_uuid(), 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 2, 'f9000000-0000-7000-8000-0000000000a1',
        'kept', NULL);
    SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 2, (SELECT sub FROM pg_temp.t2),
                          'f9000000-0000-7000-8000-0000000000a1', NULL)$$,
    '23514', 'submissions_preparation_valid');
SELECT pg_temp.expect('submission on a blocked head refused (R34)', $$
    SELECT pg_temp.t2_needs_revision();
    SELECT pg_temp.prepare('f9000000-0000-7000-8000-0000000000a2', 'e0000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-0000000000a1', (SELECT sub FROM pg_temp.t2), 2, 'f9000000-0000-7000-8000-0000000000a1',
        'blocked', 'revision_policy_incomplete');
    SELECT pg_temp.submit('e0000000-0000-7000-8000-000000000002', 2, (SELECT sub FROM pg_temp.t2),
                          'f9000000-0000-7000-8000-0000000000a2', NULL)$$,
    '23514', 'submissions_preparation_valid');

-- Final acceptance, contributions, awards, receipts (R37-R43)
SELECT pg_temp.expect('second final acceptance per task refused (R37)',
    $$INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, accepted_submitter_id,
        recorded_by, review_policy_hash)
      SELECT gen_random_uuid(), project_id, task_id, submission_id, source_review_id, accepted_submitter_id,
             recorded_by, review_policy_hash FROM final_acceptances$$,
    '23505', 'final_acceptances_task_key');
SELECT pg_temp.expect('final acceptance from a needs_revision review refused (R38)',
    $$INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, accepted_submitter_id,
        recorded_by, review_policy_hash)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
        'e3000000-0000-7000-8000-000000000001', 'f3000000-0000-7000-8000-000000000001',
        'a0000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000003', pg_temp.h('4'))$$,
    '23514', 'final_acceptances_review_accepts');
SELECT pg_temp.expect('final acceptance naming another submitter refused',
    $$SELECT pg_temp.t2_round_two();
      SELECT pg_temp.review('f3000000-0000-7000-8000-0000000000b1',
          (SELECT id FROM review_leases WHERE disposition = 'active'), 'accept', 'f3000000-0000-7000-8000-0000000000a1');
      INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale)
      SELECT gen_random_uuid(), id, 'f4000000-0000-7000-8000-0000000000a1', submission_id, 'resolved', 'ok'
        FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000b1';
      INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, accepted_submitter_id,
          recorded_by, review_policy_hash)
      SELECT gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', task_id, submission_id, id,
             'a0000000-0000-7000-8000-000000000005', reviewer_id, pg_temp.h('4')
        FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000b1'$$,
    '23503', 'final_acceptances_submission_fk');
SELECT pg_temp.expect('second completed_review per review refused (R38)',
    $$INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
        source_review_id, source_review_lease_id, artifact_hash, contribution_policy_version_id)
      SELECT gen_random_uuid(), project_id, task_id, submission_id, contribution_type, contributor_id,
             source_review_id, source_review_lease_id, artifact_hash, contribution_policy_version_id
      FROM contribution_records WHERE id = 'f7000000-0000-7000-8000-000000000001'$$,
    '23505', 'contribution_records_one_per_review');
SELECT pg_temp.expect('second accepted_submission per acceptance refused (R38)',
    $$INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
        source_final_acceptance_id, source_task_assignment_id, artifact_hash, contribution_policy_version_id)
      SELECT gen_random_uuid(), project_id, task_id, submission_id, contribution_type, contributor_id,
             source_final_acceptance_id, source_task_assignment_id, artifact_hash, contribution_policy_version_id
      FROM contribution_records WHERE id = 'f7000000-0000-7000-8000-000000000003'$$,
    '23505', 'contribution_records_one_per_final_acceptance');
SELECT pg_temp.expect('contribution mixing both shapes refused',
    $$INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
        source_review_id, source_review_lease_id, source_task_assignment_id, artifact_hash, contribution_policy_version_id)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
        'e3000000-0000-7000-8000-000000000002', 'completed_review', 'a0000000-0000-7000-8000-000000000003',
        'f3000000-0000-7000-8000-000000000002', 'f1000000-0000-7000-8000-000000000002',
        'e1000000-0000-7000-8000-000000000001', pg_temp.h('8'), 'c3000000-0000-7000-8000-000000000001')$$,
    '23514', 'contribution_records_source_shape');
SELECT pg_temp.expect('reviewer record credited to someone else refused', $$
    SELECT pg_temp.t2_accept();
    INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
        source_review_id, source_review_lease_id, artifact_hash, contribution_policy_version_id)
      SELECT gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', r.task_id, r.submission_id, 'completed_review',
             'a0000000-0000-7000-8000-000000000005', r.id, r.review_lease_id, s.archive_sha256,
             'c3000000-0000-7000-8000-000000000001'
        FROM reviews r JOIN submissions s ON s.id = r.submission_id WHERE r.id = 'f3000000-0000-7000-8000-0000000000b1'$$,
    '23503', 'contribution_records_review_fk');
SELECT pg_temp.expect('contribution with another artifact hash refused',
    $$INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
        source_final_acceptance_id, source_task_assignment_id, artifact_hash, contribution_policy_version_id)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
        'e3000000-0000-7000-8000-000000000001', 'accepted_submission', 'a0000000-0000-7000-8000-000000000002',
        'fc000000-0000-7000-8000-000000000001', 'e1000000-0000-7000-8000-000000000001', pg_temp.h('0'),
        'c3000000-0000-7000-8000-000000000001')$$,
    '23505', 'contribution_records_one_per_final_acceptance');
SELECT pg_temp.expect('second award per (contribution, instrument) refused (R41)',
    $$INSERT INTO compensation_awards (id, project_id, contribution_record_id, contribution_type, contributor_id,
        contribution_policy_version_id, award_definition_id, adapter_binding_id, instrument_type, unit_code, quantity)
      SELECT gen_random_uuid(), project_id, contribution_record_id, contribution_type, contributor_id,
             contribution_policy_version_id, award_definition_id, adapter_binding_id, instrument_type, unit_code, quantity
      FROM compensation_awards$$,
    '23505', 'compensation_awards_contribution_instrument_key');
SELECT pg_temp.expect('award quantity differing from its definition refused (R41)', $$
    SELECT pg_temp.t2_accept();
    INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
        source_review_id, source_review_lease_id, artifact_hash, contribution_policy_version_id)
      SELECT gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000002', id, 'completed_review',
             'a0000000-0000-7000-8000-000000000003', 'f3000000-0000-7000-8000-0000000000b1',
             (SELECT review_lease_id FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000b1'), archive_sha256,
             'c3000000-0000-7000-8000-000000000001'
        FROM submissions WHERE id = (SELECT submission_id FROM reviews WHERE id = 'f3000000-0000-7000-8000-0000000000b1');
    INSERT INTO compensation_awards (id, project_id, contribution_record_id, contribution_type, contributor_id,
        contribution_policy_version_id, award_definition_id, adapter_binding_id, instrument_type, unit_code, quantity)
      SELECT gen_random_uuid(), project_id, 'f7000000-0000-7000-8000-0000000000a1', contribution_type, contributor_id,
             contribution_policy_version_id, award_definition_id, adapter_binding_id, 'project_points', unit_code, 50.01
      FROM compensation_awards WHERE id = 'fd000000-0000-7000-8000-0000000000a1'$$,
    '23503');
SELECT pg_temp.expect('award on a contribution type the definition does not pay refused', $$
    INSERT INTO compensation_awards (id, project_id, contribution_record_id, contribution_type, contributor_id,
        contribution_policy_version_id, award_definition_id, adapter_binding_id, instrument_type, unit_code, quantity)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'f7000000-0000-7000-8000-000000000001',
        'completed_review', 'a0000000-0000-7000-8000-000000000003', 'c3000000-0000-7000-8000-000000000001',
        'c5000000-0000-7000-8000-000000000001', 'c1000000-0000-7000-8000-000000000001', 'money', 'USD', 50)$$,
    '23503', 'compensation_awards_definition_fk');
SELECT pg_temp.expect('second fulfilled receipt per award refused (R42, AS44)',
    $$INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, external_reference, fulfilled_quantity, fulfilled_at, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-3', 'fulfilled', 'payout-43', 50, now(), now())$$,
    '23505', 'compensation_fulfillment_receipts_one_fulfilled_per_award');
SELECT pg_temp.expect('failed receipt after fulfilment refused',
    $$INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, failure_code, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-3', 'failed', 'PROVIDER_TIMEOUT', now())$$,
    '23514', 'compensation_fulfillment_receipts_award_fulfilled');
SELECT pg_temp.expect('replayed external event id refused (AS45)',
    $$INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, external_reference, fulfilled_quantity, fulfilled_at, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-1', 'fulfilled', 'payout-42', 50, now(), now())$$,
    '23505', 'compensation_fulfillment_receipts_binding_event_key');
SELECT pg_temp.expect('fulfilled receipt without reference refused (AS46)',
    $$INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, fulfilled_quantity, fulfilled_at, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-9', 'fulfilled', 50, now(), now())$$,
    '23514', 'compensation_fulfillment_receipts_status_shape');
SELECT pg_temp.expect('fulfilled receipt with another quantity refused (AS46)', $$
    SELECT pg_temp.t2_accept();
    INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, external_reference, fulfilled_quantity, fulfilled_at, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-0000000000a1', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-9', 'fulfilled', 'payout-49', 49.99, now(), now())$$,
    '23503', 'compensation_fulfillment_receipts_quantity_fk');
SELECT pg_temp.expect_ok('failed then fulfilled receipt on a fresh award (AS47)', $$
    SELECT pg_temp.t2_accept();
    INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, failure_code, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-0000000000a1', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-10', 'failed', 'ADAPTER_REJECTED', now());
    INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, external_reference, fulfilled_quantity, fulfilled_at, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-0000000000a1', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-11', 'fulfilled', 'payout-50', 50.000, now(), now())$$);
SELECT pg_temp.expect('failed receipt with a quantity refused', $$
    SELECT pg_temp.t2_accept();
    INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, failure_code, fulfilled_quantity, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-0000000000a1', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-9', 'failed', 'PROVIDER_TIMEOUT', 50, now())$$,
    '23514', 'compensation_fulfillment_receipts_status_shape');
SELECT pg_temp.expect('unknown failure code refused', $$
    SELECT pg_temp.t2_accept();
    INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, failure_code, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-0000000000a1', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000001', 'evt-9', 'failed', 'BANK_SAID_NO', now())$$,
    '23514', 'compensation_fulfillment_receipts_failure_code_valid');
SELECT pg_temp.expect('receipt through another binding refused (R43, AS50)', $$
    SELECT pg_temp.t2_accept();
    UPDATE project_compensation_adapter_bindings SET status = 'suspended', binding_lifecycle_version = 2
     WHERE id = 'c1000000-0000-7000-8000-000000000001';
    INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, route_key, created_by)
      VALUES ('c1000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'money',
        'a0000000-0000-7000-8000-000000000004', 'local.other', 'a0000000-0000-7000-8000-000000000001');
    INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
        external_event_id, reported_status, failure_code, reported_at)
      VALUES (gen_random_uuid(), 'fd000000-0000-7000-8000-0000000000a1', 'b0000000-0000-7000-8000-000000000001',
        'c1000000-0000-7000-8000-000000000002', 'evt-9', 'failed', 'PROVIDER_TIMEOUT', now())$$,
    '23503', 'compensation_fulfillment_receipts_award_fk');
SELECT pg_temp.expect('binding status change must bump its version',
    $$UPDATE project_compensation_adapter_bindings SET status = 'suspended' WHERE id = 'c1000000-0000-7000-8000-000000000001'$$,
    '23514', 'project_compensation_adapter_bindings_version_bumped');
SELECT pg_temp.expect('fulfilled projection needs its receipt',
    $$UPDATE compensation_status_projections SET latest_receipt_id = NULL$$,
    '23514', 'compensation_status_projections_fulfilled_shape');

-- Actors, grants, configuration (docs/security.md, docs/rules.md)
SELECT pg_temp.expect('(issuer, subject) never rebound',
    $$INSERT INTO actor_identity_links (id, actor_profile_id, issuer, subject)
      VALUES (gen_random_uuid(), 'a0000000-0000-7000-8000-000000000005', 'https://auth.flow.local', 'sam')$$,
    '23505', 'actor_identity_links_issuer_subject_key');
SELECT pg_temp.expect('second active link per profile refused',
    $$INSERT INTO actor_identity_links (id, actor_profile_id, issuer, subject)
      VALUES (gen_random_uuid(), 'a0000000-0000-7000-8000-000000000002', 'https://auth.flow.local', 'sam-2')$$,
    '23505', 'actor_identity_links_one_active_per_profile');
SELECT pg_temp.expect('link anchor immutable',
    $$UPDATE actor_identity_links SET subject = 'other' WHERE id = 'a1000000-0000-7000-8000-000000000002'$$,
    'WS001', 'actor_identity_links_freeze');
SELECT pg_temp.expect('deactivated profile is terminal', $$
    UPDATE actor_profiles SET status = 'deactivated', status_changed_at = now(), status_reason = 'left'
     WHERE id = 'a0000000-0000-7000-8000-000000000005';
    UPDATE actor_profiles SET status = 'active' WHERE id = 'a0000000-0000-7000-8000-000000000005'$$,
    'WS002', 'actor_profiles_status_transition');
SELECT pg_temp.expect('actor kind immutable',
    $$UPDATE actor_profiles SET kind = 'service', service_identity = 'x' WHERE id = 'a0000000-0000-7000-8000-000000000005'$$,
    'WS001', 'actor_profiles_freeze');
SELECT pg_temp.expect('actor delete refused',
    $$DELETE FROM actor_profiles WHERE id = 'a0000000-0000-7000-8000-000000000005'$$, 'WS001', 'actor_profiles_freeze');
SELECT pg_temp.expect('operator scoped to a project refused',
    $$INSERT INTO admin_role_grants (id, target_actor_id, role, scope_type, scope_project_id, issued_by, grant_reason)
      VALUES (gen_random_uuid(), 'a0000000-0000-7000-8000-000000000005', 'operator', 'project',
        'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001', 'r')$$,
    '23514', 'admin_role_grants_system_only_roles');
SELECT pg_temp.expect('second active admin grant for the same scope refused',
    $$INSERT INTO admin_role_grants (id, target_actor_id, role, scope_type, issued_by_principal, grant_reason)
      VALUES (gen_random_uuid(), 'a0000000-0000-7000-8000-000000000001', 'project_manager', 'system',
        'workstream:system:bootstrap', 'again')$$,
    '23505', 'admin_role_grants_one_active');
SELECT pg_temp.expect_ok('same role at project scope is a separate grant',
    $$INSERT INTO admin_role_grants (id, target_actor_id, role, scope_type, scope_project_id, issued_by_principal, grant_reason)
      VALUES (gen_random_uuid(), 'a0000000-0000-7000-8000-000000000001', 'project_manager', 'project',
        'b0000000-0000-7000-8000-000000000001', 'workstream:system:bootstrap', 'scoped')$$);
SELECT pg_temp.expect('self-granted admin role refused (R46)',
    $$INSERT INTO admin_role_grants (id, target_actor_id, role, scope_type, issued_by, grant_reason)
      VALUES (gen_random_uuid(), 'a0000000-0000-7000-8000-000000000001', 'finance_authority', 'system',
        'a0000000-0000-7000-8000-000000000001', 'me')$$,
    '23514', 'admin_role_grants_not_self_granted');
SELECT pg_temp.expect('revoked grant stays revoked', $$
    UPDATE admin_role_grants SET status = 'revoked', revoked_at = now(), revoked_by = 'a0000000-0000-7000-8000-000000000003',
        revoke_reason = 'r' WHERE id = 'b1000000-0000-7000-8000-000000000001';
    UPDATE admin_role_grants SET status = 'active', revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL
     WHERE id = 'b1000000-0000-7000-8000-000000000001'$$,
    'WS002', 'admin_role_grants_status_transition');
SELECT pg_temp.expect('grant role immutable',
    $$UPDATE admin_role_grants SET role = 'operator' WHERE id = 'b1000000-0000-7000-8000-000000000001'$$,
    'WS001', 'admin_role_grants_freeze');
SELECT pg_temp.expect('contributor grant to a service actor refused', $$
    INSERT INTO project_role_qualification_snapshots (id, project_id, actor_id, requested_role, captured_by)
      VALUES ('b2000000-0000-7000-8000-0000000000a4', 'b0000000-0000-7000-8000-000000000001',
        'a0000000-0000-7000-8000-000000000004', 'submitter', 'a0000000-0000-7000-8000-000000000001');
    INSERT INTO project_role_grants (id, project_id, actor_id, role, qualification_snapshot_id, issued_by,
        issuing_admin_grant_id, grant_reason)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000004',
        'submitter', 'b2000000-0000-7000-8000-0000000000a4', 'a0000000-0000-7000-8000-000000000001',
        'b1000000-0000-7000-8000-000000000001', 'r')$$,
    '23514', 'project_role_grants_target_human');
SELECT pg_temp.expect('second active contributor grant refused',
    $$INSERT INTO project_role_grants (id, project_id, actor_id, role, qualification_snapshot_id, issued_by,
        issuing_admin_grant_id, grant_reason)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002',
        'submitter', 'b2000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000001',
        'b1000000-0000-7000-8000-000000000001', 'again')$$,
    '23505', 'project_role_grants_one_active');
SELECT pg_temp.expect('qualification snapshot for another role refused',
    $$INSERT INTO project_role_grants (id, project_id, actor_id, role, qualification_snapshot_id, issued_by,
        issuing_admin_grant_id, grant_reason)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002',
        'reviewer', 'b2000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000001',
        'b1000000-0000-7000-8000-000000000001', 'r')$$,
    '23503', 'project_role_grants_qualification_matches');
SELECT pg_temp.expect('duplicate project slug refused',
    $$INSERT INTO projects (id, name, slug, created_by)
      VALUES (gen_random_uuid(), 'Other', 'demo', 'a0000000-0000-7000-8000-000000000001')$$,
    '23505', 'projects_slug_key');
SELECT pg_temp.expect('malformed project slug refused',
    $$INSERT INTO projects (id, name, slug, created_by)
      VALUES (gen_random_uuid(), 'Other', 'Not A Slug', 'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'projects_slug_format');
SELECT pg_temp.expect('archived project cannot reopen', $$
    UPDATE projects SET status = 'archived', archived_at = now() WHERE id = 'b0000000-0000-7000-8000-000000000001';
    UPDATE projects SET status = 'active', archived_at = NULL WHERE id = 'b0000000-0000-7000-8000-000000000001'$$,
    'WS002', 'projects_status_transition');
SELECT pg_temp.expect('money unit outside ISO 4217 refused',
    $$INSERT INTO project_compensation_units (id, project_id, instrument_type, unit_code, iso_currency_code, created_by)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'money', 'ABC', 'ABC',
        'a0000000-0000-7000-8000-000000000001')$$,
    '23503', 'project_compensation_units_iso_currency_code_fkey');
SELECT pg_temp.expect('money unit must be its ISO code',
    $$INSERT INTO project_compensation_units (id, project_id, instrument_type, unit_code, iso_currency_code, created_by)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'money', 'dollars', 'USD',
        'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'project_compensation_units_money_is_iso');
SELECT pg_temp.expect('route key with .. refused',
    $$INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, route_key, created_by)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'project_points',
        'a0000000-0000-7000-8000-000000000004', 'local..x', 'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'project_compensation_adapter_bindings_route_key_format');
SELECT pg_temp.expect('second active binding per instrument refused',
    $$INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, route_key, created_by)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'money',
        'a0000000-0000-7000-8000-000000000004', 'local.other', 'a0000000-0000-7000-8000-000000000001')$$,
    '23505', 'project_compensation_adapter_bindings_one_active');
SELECT pg_temp.expect('human adapter refused (R43)',
    $$INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, route_key, created_by)
      VALUES (gen_random_uuid(), 'b0000000-0000-7000-8000-000000000001', 'project_points',
        'a0000000-0000-7000-8000-000000000005', 'local.points', 'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'project_compensation_adapter_bindings_adapter_service');

-- Audit, idempotency, jobs, lessons, sprints
SELECT pg_temp.expect('duplicate audit chain position refused',
    $$INSERT INTO audit_events (id, chain_key, chain_seq, entity_type, event_type, occurred_at, prev_digest, digest)
      VALUES (gen_random_uuid(), 'project:b0000000-0000-7000-8000-000000000001', 1, 'task', 'x', now(), NULL, pg_temp.h('e'))$$,
    '23505', 'audit_events_chain_key_chain_seq_key');
SELECT pg_temp.expect('first chain event with a predecessor digest refused',
    $$INSERT INTO audit_events (id, chain_key, chain_seq, entity_type, event_type, occurred_at, prev_digest, digest)
      VALUES (gen_random_uuid(), 'system', 1, 'task', 'x', now(), pg_temp.h('e'), pg_temp.h('e'))$$,
    '23514', 'audit_events_check');
SELECT pg_temp.expect('malformed audit digest refused',
    $$INSERT INTO audit_events (id, chain_key, chain_seq, entity_type, event_type, occurred_at, digest)
      VALUES (gen_random_uuid(), 'system', 1, 'task', 'x', now(), 'sha256:ABC')$$,
    '23514', 'audit_events_digest_check');
SELECT pg_temp.expect_ok('an event appended since the ledger has no chain position',
    $$INSERT INTO audit_events (id, chain_key, entity_type, event_type, occurred_at, digest)
      VALUES (gen_random_uuid(), 'system', 'task', 'x', now(), pg_temp.h('e'))$$);
SELECT pg_temp.expect('an event sealed twice refused',
    $$INSERT INTO audit_ledger (leaf_index, event_id) VALUES (1, 'f8000000-0000-7000-8000-000000000001')$$,
    '23505', 'audit_ledger_event_id_key');
SELECT pg_temp.expect('a negative ledger position refused',
    $$INSERT INTO audit_ledger (leaf_index, event_id) SELECT -1, id FROM audit_events LIMIT 1$$,
    '23514', 'audit_ledger_leaf_index_check');
SELECT pg_temp.expect('a tree node that is not a SHA-256 refused',
    $$INSERT INTO audit_tree_nodes (level, index, hash) VALUES (1, 0, decode('ab', 'hex'))$$,
    '23514', 'audit_tree_nodes_hash_check');
SELECT pg_temp.expect('a checkpoint that does not grow the tree refused',
    $$INSERT INTO audit_checkpoints (tree_size, previous_size, root, signed_at, key_id, signature, object_key)
      VALUES (2, 2, decode(repeat('ab', 32), 'hex'), now(), repeat('cd', 32), decode(repeat('ef', 64), 'hex'), 'x')$$,
    '23514', 'audit_checkpoints_grows');
SELECT pg_temp.expect('a publication of no checkpoint refused',
    $$INSERT INTO audit_checkpoint_publications (tree_size) VALUES (7)$$,
    '23503', 'audit_checkpoint_publications_tree_size_fkey');
SELECT pg_temp.expect_ok('the sealer takes events off its queue',
    $$DELETE FROM audit_unsealed$$);
SELECT pg_temp.expect('idempotency key reused per (actor, operation) refused',
    $$INSERT INTO idempotency_records (id, actor_id, operation, idempotency_key, request_hash, response_status, response_body)
      SELECT gen_random_uuid(), actor_id, operation, idempotency_key, pg_temp.h('b'), 200, '{}' FROM idempotency_records$$,
    '23505', 'idempotency_records_actor_operation_key');
SELECT pg_temp.expect('running job without a lease refused',
    $$UPDATE jobs SET state = 'running' WHERE id = 'af000000-0000-7000-8000-000000000001'$$,
    '23514', 'jobs_running_has_lease');
SELECT pg_temp.expect('job attempts beyond max refused',
    $$UPDATE jobs SET attempt = max_attempts + 1 WHERE id = 'af000000-0000-7000-8000-000000000001'$$,
    '23514', 'jobs_attempt_within_max');
SELECT pg_temp.expect('duplicate job idempotency key refused',
    $$INSERT INTO jobs (id, kind, idempotency_key) VALUES (gen_random_uuid(), 'award.deliver',
      'award.deliver:fe000000-0000-7000-8000-000000000001')$$,
    '23505', 'jobs_idempotency_key_key');
SELECT pg_temp.expect_ok('job claim and completion under its lease generation', $$
    UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_generation = lease_generation + 1,
        lease_expires_at = now() + interval '5 minutes', locked_by = 'worker-1', attempted_at = now()
     WHERE id = 'af000000-0000-7000-8000-000000000001';
    UPDATE jobs SET state = 'completed', finished_at = now(), lease_expires_at = NULL, locked_by = NULL
     WHERE id = 'af000000-0000-7000-8000-000000000001' AND lease_generation = 1$$);
SELECT pg_temp.expect('lesson open -> implemented refused',
    $$UPDATE project_lessons SET status = 'implemented', closed_at = now() WHERE id = 'ac000000-0000-7000-8000-000000000001'$$,
    'WS002', 'project_lessons_status_transition');
SELECT pg_temp.expect('lesson implemented without naming the change refused', $$
    UPDATE project_lessons SET status = 'accepted' WHERE id = 'ac000000-0000-7000-8000-000000000001';
    UPDATE project_lessons SET status = 'implemented', closed_at = now() WHERE id = 'ac000000-0000-7000-8000-000000000001'$$,
    '23514', 'project_lessons_implementation_link');
SELECT pg_temp.expect_ok('lesson open -> accepted -> implemented, linked to the guide', $$
    UPDATE project_lessons SET status = 'accepted' WHERE id = 'ac000000-0000-7000-8000-000000000001';
    UPDATE project_lessons SET status = 'implemented', closed_at = now(),
        implemented_guide_id = 'd0000000-0000-7000-8000-000000000001'
     WHERE id = 'ac000000-0000-7000-8000-000000000001'$$);
SELECT pg_temp.expect('sprint ending before it starts refused',
    $$UPDATE evaluation_sprints SET ends_at = starts_at WHERE id = 'ad000000-0000-7000-8000-000000000001'$$,
    '23514', 'evaluation_sprints_window');
SELECT pg_temp.expect('sprint task from another project refused', $$
    INSERT INTO projects (id, name, slug, created_by) VALUES ('b0000000-0000-7000-8000-000000000002', 'P2', 'p2',
        'a0000000-0000-7000-8000-000000000001');
    INSERT INTO evaluation_sprint_tasks (sprint_id, task_id, project_id, added_by)
      VALUES ('ad000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000002',
        'b0000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000001')$$,
    '23503');

-- Policy previews (migrations/0017_policy_previews.sql): only a draft guide, over the
-- project's own submissions; results only from a running preview; completed only with
-- every result; a lesson's evidence is a completed preview.
SELECT pg_temp.expect('preview of an active guide refused',
    $$INSERT INTO policy_previews (id, project_id, guide_id, policy_bundle_hash, artifact_policy,
        artifact_policy_hash, checker_policy, checker_policy_hash, submission_limit, submission_ids, job_ids,
        requested_by)
      VALUES ('ae000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
        'd0000000-0000-7000-8000-000000000001', pg_temp.h('1'), '{}', pg_temp.h('2'), '{}', pg_temp.h('3'), 200,
        ARRAY['e3000000-0000-7000-8000-000000000001'::uuid], ARRAY['ae000000-0000-7000-8000-000000000009'::uuid],
        'a0000000-0000-7000-8000-000000000001')$$,
    '23514', 'policy_previews_guide_draft');
CREATE FUNCTION pg_temp.preview_of_draft(submissions uuid[]) RETURNS void LANGUAGE sql AS $f$
    INSERT INTO project_guides (id, project_id, version, content_markdown, created_by)
      VALUES ('d0000000-0000-7000-8000-000000000009', 'b0000000-0000-7000-8000-000000000001', 'v9-draft',
        '# Draft', 'a0000000-0000-7000-8000-000000000001');
    INSERT INTO policy_previews (id, project_id, guide_id, policy_bundle_hash, artifact_policy,
        artifact_policy_hash, checker_policy, checker_policy_hash, submission_limit, submission_ids, job_ids,
        requested_by)
      VALUES ('ae000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
        'd0000000-0000-7000-8000-000000000009', pg_temp.h('1'), '{}', pg_temp.h('2'), '{}', pg_temp.h('3'), 200,
        submissions, ARRAY['ae000000-0000-7000-8000-000000000009'::uuid], 'a0000000-0000-7000-8000-000000000001');
$f$;
SELECT pg_temp.expect_ok('preview of a draft guide over its project''s submissions',
    $$SELECT pg_temp.preview_of_draft(ARRAY['e3000000-0000-7000-8000-000000000001'::uuid])$$);
SELECT pg_temp.expect('preview over a submission of no project refused',
    $$SELECT pg_temp.preview_of_draft(ARRAY['00000000-0000-7000-8000-000000000000'::uuid])$$,
    '23514', 'policy_previews_submissions_of_project');
SELECT pg_temp.expect('result of a queued preview refused', $q$
    DO $x$ BEGIN
        PERFORM pg_temp.preview_of_draft(ARRAY['e3000000-0000-7000-8000-000000000001'::uuid]);
        INSERT INTO policy_preview_results (id, preview_id, submission_id, task_id, submission_version,
            recorded_run_id, recorded_route, draft_pre_route, draft_post_route, draft_route, members,
            findings_appeared, findings_disappeared, reused_results, checked_results)
          VALUES ('ae100000-0000-7000-8000-000000000001', 'ae000000-0000-7000-8000-000000000001',
            'e3000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001', 1,
            'e5000000-0000-7000-8000-000000000001', 'allow_review', 'allow_review', 'needs_revision',
            'needs_revision', '[]', '[]', '[]', 0, 0);
    END $x$ $q$, '23514', 'policy_preview_results_preview_running');
SELECT pg_temp.expect('preview completed without its results refused', $q$
    DO $x$ BEGIN
        PERFORM pg_temp.preview_of_draft(ARRAY['e3000000-0000-7000-8000-000000000001'::uuid]);
        UPDATE policy_previews SET status = 'running', started_at = now()
          WHERE id = 'ae000000-0000-7000-8000-000000000001';
        UPDATE policy_previews SET status = 'completed', summary = '{}', finished_at = now()
          WHERE id = 'ae000000-0000-7000-8000-000000000001';
    END $x$ $q$, '23514', 'policy_previews_complete_results');
SELECT pg_temp.expect('preview: what it previews is fixed', $q$
    DO $x$ BEGIN
        PERFORM pg_temp.preview_of_draft(ARRAY['e3000000-0000-7000-8000-000000000001'::uuid]);
        UPDATE policy_previews SET checker_policy = '{"checkers": []}'
          WHERE id = 'ae000000-0000-7000-8000-000000000001';
    END $x$ $q$, 'WS001', 'policy_previews_guard');
SELECT pg_temp.expect('lesson evidence: a preview that has not completed refused', $q$
    DO $x$ BEGIN
        PERFORM pg_temp.preview_of_draft(ARRAY['e3000000-0000-7000-8000-000000000001'::uuid]);
        UPDATE project_lessons SET implemented_preview_id = 'ae000000-0000-7000-8000-000000000001'
          WHERE id = 'ac000000-0000-7000-8000-000000000001';
    END $x$ $q$, '23514', 'project_lessons_implemented_preview_completed');

-- ------------------------------------------------------------------------------------------
-- Reviewer calibration (migrations/0018_review_calibration.sql): an offer of RV2 (Riley's
-- accept of S's v2), its holder and its calibration review.
-- ------------------------------------------------------------------------------------------

CREATE FUNCTION pg_temp.calibration_offer(first_reviewer uuid DEFAULT 'a0000000-0000-7000-8000-000000000003',
                                          start_state text DEFAULT 'offered') RETURNS void LANGUAGE sql AS $f$
    INSERT INTO calibration_offers (id, project_id, task_id, submission_id, sampled_review_id, first_reviewer_id,
                                    review_policy_hash, sample_percent, offer_expires_at, state)
      VALUES ('ca100000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
        'e0000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000002',
        'f3000000-0000-7000-8000-000000000002', first_reviewer, pg_temp.h('4'), 100,
        now() + interval '14 days', start_state);
$f$;
CREATE FUNCTION pg_temp.calibration_lease(holder uuid) RETURNS void LANGUAGE sql AS $f$
    UPDATE calibration_offers SET state = 'leased', holder_id = holder, leased_at = now(),
        lease_expires_at = now() + interval '1 hour'
      WHERE id = 'ca100000-0000-7000-8000-000000000001';
$f$;
CREATE FUNCTION pg_temp.calibration_review(reviewer uuid, decision_ text, first_decision_ text, agrees boolean)
RETURNS void LANGUAGE sql AS $f$
    INSERT INTO calibration_reviews (id, offer_id, project_id, sampled_review_id, first_reviewer_id, reviewer_id,
                                     decision, first_decision, acceptance_evidence_refs, decision_agrees,
                                     finding_overlap_bp)
      VALUES ('ca200000-0000-7000-8000-000000000001', 'ca100000-0000-7000-8000-000000000001',
        'b0000000-0000-7000-8000-000000000001', 'f3000000-0000-7000-8000-000000000002',
        'a0000000-0000-7000-8000-000000000003', reviewer, decision_, first_decision_,
        '[{"path": "outputs/final-answer.md"}]', agrees, 10000);
$f$;
SELECT pg_temp.expect_ok('calibration offer of a review',
    $$SELECT pg_temp.calibration_offer()$$);
SELECT pg_temp.expect('calibration offer that starts leased refused',
    $$SELECT pg_temp.calibration_offer(start_state => 'leased')$$,
    '23514', 'calibration_offers_created_offered');
SELECT pg_temp.expect('calibration offer naming another first reviewer refused',
    $$SELECT pg_temp.calibration_offer(first_reviewer => 'a0000000-0000-7000-8000-000000000005')$$,
    '23503', 'calibration_offers_review_fk');
SELECT pg_temp.expect('calibration held by the first reviewer refused',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000003')$$,
    '23514', 'calibration_offers_not_first_reviewer');
SELECT pg_temp.expect('calibration held by a submitter of the task refused (R25)',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000002')$$,
    '23514', 'calibration_offers_no_self_review');
SELECT pg_temp.expect('calibration held by a service actor refused',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000004')$$,
    '23514', 'calibration_offers_holder_human');
SELECT pg_temp.expect_ok('calibration held by another reviewer',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000005')$$);
SELECT pg_temp.expect('calibration leased without a holder refused',
    $$SELECT pg_temp.calibration_offer();
      UPDATE calibration_offers SET state = 'leased', leased_at = now(), lease_expires_at = now() + interval '1 hour'
       WHERE id = 'ca100000-0000-7000-8000-000000000001'$$,
    '23514', 'calibration_offers_holder_shape');
SELECT pg_temp.expect('calibration offered -> recorded refused',
    $$SELECT pg_temp.calibration_offer();
      UPDATE calibration_offers SET state = 'recorded', holder_id = 'a0000000-0000-7000-8000-000000000005'
       WHERE id = 'ca100000-0000-7000-8000-000000000001'$$,
    'WS002', 'calibration_offers_status_transition');
SELECT pg_temp.expect('calibration offer: its review is fixed',
    $$SELECT pg_temp.calibration_offer();
      UPDATE calibration_offers SET sample_percent = 50 WHERE id = 'ca100000-0000-7000-8000-000000000001'$$,
    'WS001');
SELECT pg_temp.expect('calibration offer delete refused',
    $$SELECT pg_temp.calibration_offer();
      DELETE FROM calibration_offers WHERE id = 'ca100000-0000-7000-8000-000000000001'$$,
    'WS001');
SELECT pg_temp.expect('calibration review by someone not holding the offer refused',
    $$SELECT pg_temp.calibration_offer();
      SELECT pg_temp.calibration_review('a0000000-0000-7000-8000-000000000005', 'accept', 'accept', true)$$,
    '23514', 'calibration_reviews_offer_held');
SELECT pg_temp.expect('calibration review misstating the first decision refused',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000005');
      SELECT pg_temp.calibration_review('a0000000-0000-7000-8000-000000000005', 'reject', 'reject', true)$$,
    '23514', 'calibration_reviews_first_decision');
SELECT pg_temp.expect('calibration review misstating agreement refused',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000005');
      SELECT pg_temp.calibration_review('a0000000-0000-7000-8000-000000000005', 'needs_revision', 'accept', true)$$,
    '23514', 'calibration_reviews_agreement');
SELECT pg_temp.expect_ok('calibration review by the holder, then recorded',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000005');
      SELECT pg_temp.calibration_review('a0000000-0000-7000-8000-000000000005', 'accept', 'accept', true);
      UPDATE calibration_offers SET state = 'recorded', leased_at = NULL, lease_expires_at = NULL
       WHERE id = 'ca100000-0000-7000-8000-000000000001'$$);
SELECT pg_temp.expect('calibration review is append-only',
    $$SELECT pg_temp.calibration_offer(); SELECT pg_temp.calibration_lease('a0000000-0000-7000-8000-000000000005');
      SELECT pg_temp.calibration_review('a0000000-0000-7000-8000-000000000005', 'accept', 'accept', true);
      UPDATE calibration_reviews SET finding_overlap_bp = 0 WHERE id = 'ca200000-0000-7000-8000-000000000001'$$,
    'WS001');
SELECT pg_temp.expect_ok('lesson from a calibration disagreement',
    $$INSERT INTO project_lessons (id, project_id, source, source_entity_type, lesson_type, summary, detection_key)
      VALUES ('ca300000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
              'calibration_disagreement', 'calibration_review', 'reviewer_policy_update', 'Reviewers disagree.',
              'calibration:ca100000-0000-7000-8000-000000000001')$$);

-- The fixture's own deferred checks hold.
SET CONSTRAINTS ALL IMMEDIATE;
\o

-- ------------------------------------------------------------------------------------------
-- Report
-- ------------------------------------------------------------------------------------------

SELECT CASE WHEN ok THEN 'ok  ' ELSE 'FAIL' END AS result, label,
       CASE WHEN ok THEN '' ELSE detail END AS detail
FROM pg_temp.check_results ORDER BY n;

SELECT format('schema_checks: %s passed, %s failed',
              count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok)) AS summary
FROM pg_temp.check_results \gset
\echo :summary
SELECT count(*) FILTER (WHERE NOT ok) = 0 AS all_ok FROM pg_temp.check_results \gset

ROLLBACK;

\if :all_ok
\else
  -- psql exits with status 3 on this error (ON_ERROR_STOP).
  DO $$ BEGIN RAISE EXCEPTION 'schema_checks: some checks failed (see FAIL lines above)'; END $$;
\endif
