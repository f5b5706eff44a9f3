-- fixture_chain.sql
--
-- One complete, valid Workstream history with fixed, readable ids, written as plain SQL
-- (no psql meta-commands) so any client can run it inside one transaction:
--
--   actors (PM, submitter S, reviewers R and R2, a service adapter) -> project -> grants
--   -> USD unit + money binding -> contribution policy v1 (accepted_submission: 50 USD,
--   completed_review: unpaid), published -> checker component -> active guide v1 -> task
--   draft -> screening -> ready -> claimed -> in_progress -> submission v1 (+ packet file)
--   -> checker run (result, allow_review) -> queue entry -> lease -> review RV1
--   needs_revision with blocking F1 and advisory F2 -> reviewer contribution -> audit event
--   -> preparation P1 (kept) -> submission v2 answering F1 -> run -> preferred queue entry
--   -> lease -> review RV2 accept resolving F1 -> final acceptance -> contributions ->
--   award 50 USD -> failed then fulfilled receipt -> projection, outbox -> reputation ->
--   lesson -> sprint -> idempotency record -> job.
--
-- Used by schema_checks.sql; ids follow the pattern <kind>000000-0000-7000-8000-0000000000NN.
-- Requires the migrations in /migrations. The deferred review check needs RV1's finding and
-- RV2's resolution in the same transaction as the review rows, so run the file in one
-- transaction.

-- h('1') = 'sha256:111...1' (64 hex digits): readable stand-in digests.
CREATE FUNCTION pg_temp.h(c text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'sha256:' || repeat(c, 64) $$;

-- Actors ---------------------------------------------------------------------------------
INSERT INTO actor_profiles (id, kind, display_name) VALUES
    ('a0000000-0000-7000-8000-000000000001', 'human', 'Pat Manager'),
    ('a0000000-0000-7000-8000-000000000002', 'human', 'Sam Submitter'),
    ('a0000000-0000-7000-8000-000000000003', 'human', 'Riley Reviewer'),
    ('a0000000-0000-7000-8000-000000000005', 'human', 'Robin Reviewer');
INSERT INTO actor_profiles (id, kind, display_name, service_identity) VALUES
    ('a0000000-0000-7000-8000-000000000004', 'service', 'Local payment adapter', 'workstream.adapter.local');
INSERT INTO actor_identity_links (id, actor_profile_id, issuer, subject, last_verified_at) VALUES
    ('a1000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001', 'https://auth.flow.local', 'pm', now()),
    ('a1000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000002', 'https://auth.flow.local', 'sam', now()),
    ('a1000000-0000-7000-8000-000000000003', 'a0000000-0000-7000-8000-000000000003', 'https://auth.flow.local', 'riley', now());

-- Project and grants ---------------------------------------------------------------------
INSERT INTO projects (id, name, slug, description, created_by) VALUES
    ('b0000000-0000-7000-8000-000000000001', 'Demo project', 'demo', 'Fixture project',
     'a0000000-0000-7000-8000-000000000001');
INSERT INTO admin_role_grants (id, target_actor_id, role, scope_type, issued_by_principal, grant_reason) VALUES
    ('b1000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001', 'project_manager', 'system',
     'workstream:system:bootstrap', 'bootstrap PM');
INSERT INTO project_role_qualification_snapshots (id, project_id, actor_id, requested_role, evidence, captured_by) VALUES
    ('b2000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002',
     'submitter', '{"note": "sample task passed"}', 'a0000000-0000-7000-8000-000000000001'),
    ('b2000000-0000-7000-8000-000000000003', 'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000003',
     'reviewer', '{}', 'a0000000-0000-7000-8000-000000000001');
INSERT INTO project_role_grants (id, project_id, actor_id, role, qualification_snapshot_id, issued_by,
                                 issuing_admin_grant_id, grant_reason) VALUES
    ('b3000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002',
     'submitter', 'b2000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000001',
     'b1000000-0000-7000-8000-000000000001', 'qualified'),
    ('b3000000-0000-7000-8000-000000000003', 'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000003',
     'reviewer', 'b2000000-0000-7000-8000-000000000003', 'a0000000-0000-7000-8000-000000000001',
     'b1000000-0000-7000-8000-000000000001', 'qualified');

-- Compensation configuration and contribution policy ------------------------------------
INSERT INTO project_compensation_units (id, project_id, instrument_type, unit_code, iso_currency_code, created_by) VALUES
    ('c0000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001', 'money', 'USD', 'USD',
     'a0000000-0000-7000-8000-000000000001'),
    ('c0000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001', 'project_points', 'pts', NULL,
     'a0000000-0000-7000-8000-000000000001');
INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, route_key, created_by) VALUES
    ('c1000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001', 'money',
     'a0000000-0000-7000-8000-000000000004', 'local.default', 'a0000000-0000-7000-8000-000000000001');
INSERT INTO contribution_policies (id, project_id, name, created_by) VALUES
    ('c2000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001', 'Default terms',
     'a0000000-0000-7000-8000-000000000001');
INSERT INTO contribution_policy_versions (id, contribution_policy_id, project_id, version_number, created_by) VALUES
    ('c3000000-0000-7000-8000-000000000001', 'c2000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     1, 'a0000000-0000-7000-8000-000000000001');
INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode) VALUES
    ('c4000000-0000-7000-8000-000000000001', 'c3000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     'accepted_submission', 'compensated'),
    ('c4000000-0000-7000-8000-000000000002', 'c3000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     'completed_review', 'unpaid');
INSERT INTO contribution_award_definitions (id, rule_id, version_id, project_id, contribution_type, instrument_type,
                                            unit_code, quantity, adapter_binding_id) VALUES
    ('c5000000-0000-7000-8000-000000000001', 'c4000000-0000-7000-8000-000000000001', 'c3000000-0000-7000-8000-000000000001',
     'b0000000-0000-7000-8000-000000000001', 'accepted_submission', 'money', 'USD', 50.00,
     'c1000000-0000-7000-8000-000000000001');
UPDATE contribution_policy_versions
   SET status = 'published', published_by = 'a0000000-0000-7000-8000-000000000001', published_at = now()
 WHERE id = 'c3000000-0000-7000-8000-000000000001';
UPDATE contribution_policies
   SET status = 'active', current_published_version_id = 'c3000000-0000-7000-8000-000000000001'
 WHERE id = 'c2000000-0000-7000-8000-000000000001';

-- Checker component (8 bytes standing in for a WASM component; digest = sha256(bytes)) ---
INSERT INTO checker_components (digest, name, version, description, config_schema, wasm_bytes, byte_count, builtin)
SELECT 'sha256:' || encode(sha256(b), 'hex'), 'required-files', '0.1.0', 'Required files are present',
       '{"type": "object"}', b, octet_length(b), true
FROM (SELECT decode('0061736d0d000100', 'hex') AS b) AS bytes;

-- Active guide v1 and active project ------------------------------------------------------
INSERT INTO project_guides (id, project_id, version, status, activation_sequence, content_markdown, change_summary,
                            policy_bundle, policy_bundle_hash, artifact_policy_hash, checker_policy_hash,
                            review_policy_hash, revision_policy_hash, contribution_policy_version_id,
                            approved_by, effective_at, created_by) VALUES
    ('d0000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001', 'v1', 'active', 1,
     '# Guide v1', 'first version',
     '{"artifact_policy": {}, "checker_policy": {"checkers": []}, "review_policy": {}, "revision_policy": {}}',
     pg_temp.h('1'), pg_temp.h('2'), pg_temp.h('3'), pg_temp.h('4'), pg_temp.h('5'),
     'c3000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001', now(),
     'a0000000-0000-7000-8000-000000000001');
UPDATE projects SET status = 'active', activated_at = now() WHERE id = 'b0000000-0000-7000-8000-000000000001';

-- Task: draft -> screening -> ready -> claimed -> in_progress -----------------------------
INSERT INTO tasks (id, project_id, title, description, task_type, difficulty, skill_tags, acceptance_criteria,
                   rejection_criteria, created_by) VALUES
    ('e0000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001', 'Prove the lemma',
     'Write a proof.', 'proof', 'medium', '{coding}', 'A complete proof in outputs/final-answer.md',
     'Plagiarism', 'a0000000-0000-7000-8000-000000000001');
UPDATE tasks SET status = 'screening',
       locked_guide_id = 'd0000000-0000-7000-8000-000000000001', locked_guide_version = 'v1',
       locked_guide_activation_sequence = 1, locked_policy_bundle_hash = pg_temp.h('1'),
       locked_artifact_policy_hash = pg_temp.h('2'), locked_checker_policy = '{"checkers": []}',
       locked_checker_policy_hash = pg_temp.h('3'), locked_review_policy_hash = pg_temp.h('4'),
       locked_revision_policy_hash = pg_temp.h('5'), locked_at = now()
 WHERE id = 'e0000000-0000-7000-8000-000000000001';
UPDATE tasks SET status = 'ready', locked_contribution_policy_version_id = 'c3000000-0000-7000-8000-000000000001'
 WHERE id = 'e0000000-0000-7000-8000-000000000001';
UPDATE tasks SET status = 'claimed', assigned_to = 'a0000000-0000-7000-8000-000000000002'
 WHERE id = 'e0000000-0000-7000-8000-000000000001';
INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, submitter_contribution_policy_version_id) VALUES
    ('e1000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
     'a0000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000002',
     'c3000000-0000-7000-8000-000000000001');
UPDATE tasks SET status = 'in_progress' WHERE id = 'e0000000-0000-7000-8000-000000000001';

-- Submission v1 ----------------------------------------------------------------------------
INSERT INTO submission_bundle_admissions (id, task_id, task_assignment_id, contributor_id, archive_sha256,
                                          archive_byte_count, manifest, manifest_digest, locked_policy_bundle_hash) VALUES
    ('e2000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
     'e1000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002',
     pg_temp.h('6'), 1234, '{"schema_version": "workstream.submission_bundle_manifest.v1", "entries": []}',
     pg_temp.h('7'), pg_temp.h('1'));
INSERT INTO submissions (id, project_id, task_id, task_assignment_id, contributor_id, version, summary,
                         contributor_attestation, submission_bundle_admission_id, archive_sha256, archive_byte_count,
                         manifest, manifest_digest, locked_guide_id, locked_guide_version,
                         locked_guide_activation_sequence, locked_policy_bundle_hash, locked_artifact_policy_hash,
                         locked_checker_policy, locked_checker_policy_hash, locked_review_policy_hash,
                         locked_revision_policy_hash, contribution_policy_version_id)
SELECT 'e3000000-0000-7000-8000-000000000001', t.project_id, t.id, a.id, a.contributor_id, 1, 'First attempt',
       'No confidential material.', ad.id, ad.archive_sha256, ad.archive_byte_count, ad.manifest, ad.manifest_digest,
       t.locked_guide_id, t.locked_guide_version, t.locked_guide_activation_sequence, t.locked_policy_bundle_hash,
       t.locked_artifact_policy_hash, t.locked_checker_policy, t.locked_checker_policy_hash,
       t.locked_review_policy_hash, t.locked_revision_policy_hash, a.submitter_contribution_policy_version_id
FROM tasks t
JOIN task_assignments a ON a.task_id = t.id AND a.status = 'active'
JOIN submission_bundle_admissions ad ON ad.id = 'e2000000-0000-7000-8000-000000000001'
WHERE t.id = 'e0000000-0000-7000-8000-000000000001';
UPDATE submission_bundle_admissions SET state = 'consumed', consumed_at = now()
 WHERE id = 'e2000000-0000-7000-8000-000000000001';
INSERT INTO packet_files (id, submission_id, path, byte_count, sha256, executable) VALUES
    ('e4000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000001', 'outputs/final-answer.md',
     120, pg_temp.h('f'), false);
UPDATE tasks SET status = 'submitted' WHERE id = 'e0000000-0000-7000-8000-000000000001';
UPDATE tasks SET status = 'evaluation_pending' WHERE id = 'e0000000-0000-7000-8000-000000000001';

-- Checker run 1 -----------------------------------------------------------------------------
INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
                          trigger_source, attempt_number, request_digest) VALUES
    ('e5000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000001', 1, pg_temp.h('7'), pg_temp.h('3'), 'submission_locked', 1, pg_temp.h('a'));
UPDATE checker_runs SET status = 'running', started_at = now() WHERE id = 'e5000000-0000-7000-8000-000000000001';
INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, checker_version, config_hash,
                             status, severity, verdict, findings, fuel_consumed, duration_us, result_digest)
SELECT 'e6000000-0000-7000-8000-000000000001', 'e5000000-0000-7000-8000-000000000001', 0, digest, name, version,
       pg_temp.h('c'), 'passed', 'info', 'passed', '[]', 1000, 50, pg_temp.h('b')
FROM checker_components WHERE name = 'required-files';
UPDATE checker_runs SET status = 'completed', routing_recommendation = 'allow_review', completed_at = now(),
       result_digest = pg_temp.h('b')
 WHERE id = 'e5000000-0000-7000-8000-000000000001';
UPDATE tasks SET status = 'review_pending' WHERE id = 'e0000000-0000-7000-8000-000000000001';

-- Review round 1: needs_revision -------------------------------------------------------------
INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version, admitting_checker_run_id) VALUES
    ('f0000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     'e0000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000001', 1,
     'e5000000-0000-7000-8000-000000000001');
INSERT INTO review_leases (id, queue_entry_id, submission_id, reviewer_id, reviewer_contribution_policy_version_id,
                           expires_at) VALUES
    ('f1000000-0000-7000-8000-000000000001', 'f0000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000003',
     'c3000000-0000-7000-8000-000000000001', now() + interval '1 hour');
INSERT INTO review_packet_manifests (id, review_lease_id, submission_id, admitting_checker_run_id, manifest,
                                     manifest_digest) VALUES
    ('f2000000-0000-7000-8000-000000000001', 'f1000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000001', 'e5000000-0000-7000-8000-000000000001', '{"files": 1}', pg_temp.h('9'));
INSERT INTO reviews (id, task_id, submission_id, review_lease_id, reviewer_id, decision, summary,
                     locked_guide_version, locked_review_policy_hash) VALUES
    ('f3000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000001', 'f1000000-0000-7000-8000-000000000001',
     'a0000000-0000-7000-8000-000000000003', 'needs_revision', 'The proof skips a step.', 'v1', pg_temp.h('4'));
INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue, rationale, required_fix) VALUES
    ('f4000000-0000-7000-8000-000000000001', 'f3000000-0000-7000-8000-000000000001', 1, 'blocking', 'proof',
     'Step 3 is missing', 'The induction step is not shown', 'Show the induction step'),
    ('f4000000-0000-7000-8000-000000000002', 'f3000000-0000-7000-8000-000000000001', 2, 'advisory', 'style',
     'Long lines', NULL, NULL);
UPDATE review_leases SET disposition = 'consumed', ended_at = now() WHERE id = 'f1000000-0000-7000-8000-000000000001';
UPDATE review_queue_entries SET state = 'closed', closed_at = now(), closed_reason = 'review_recorded'
 WHERE id = 'f0000000-0000-7000-8000-000000000001';
INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
                                  source_review_id, source_review_lease_id, artifact_hash, contribution_policy_version_id) VALUES
    ('f7000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     'e0000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000001', 'completed_review',
     'a0000000-0000-7000-8000-000000000003', 'f3000000-0000-7000-8000-000000000001',
     'f1000000-0000-7000-8000-000000000001', pg_temp.h('6'), 'c3000000-0000-7000-8000-000000000001');
INSERT INTO audit_events (id, chain_key, chain_seq, project_id, entity_type, entity_id, event_type, from_status,
                          to_status, actor_id, reason, payload, occurred_at, prev_digest, digest) VALUES
    ('f8000000-0000-7000-8000-000000000001', 'project:b0000000-0000-7000-8000-000000000001', 1,
     'b0000000-0000-7000-8000-000000000001', 'task', 'e0000000-0000-7000-8000-000000000001', 'review_decided',
     'review_pending', 'needs_revision', 'a0000000-0000-7000-8000-000000000003', 'needs_revision',
     '{"review_id": "f3000000-0000-7000-8000-000000000001"}', now(), NULL, pg_temp.h('e'));
-- The audit event sealed as the ledger's first leaf, with its signed checkpoint.
INSERT INTO audit_ledger (leaf_index, event_id) VALUES (0, 'f8000000-0000-7000-8000-000000000001');
INSERT INTO audit_tree_nodes (level, index, hash) VALUES (0, 0, decode(repeat('ab', 32), 'hex'));
INSERT INTO audit_checkpoints (tree_size, previous_size, root, signed_at, key_id, signature, object_key) VALUES
    (1, 0, decode(repeat('ab', 32), 'hex'), now(), repeat('cd', 32), decode(repeat('ef', 64), 'hex'),
     'audit/checkpoints/00000000000000000001.json');
INSERT INTO audit_checkpoint_publications (tree_size) VALUES (1);
INSERT INTO revision_context_preparations (id, task_id, originating_review_id, source_task_assignment_id,
        target_task_assignment_id, prior_submission_id, prior_submission_version, next_submission_version,
        prior_context, next_context, prior_guide_id, next_guide_id, prior_policy_bundle_hash, next_policy_bundle_hash,
        prior_contribution_policy_version_id, next_contribution_policy_version_id, outcome, context_digest,
        preparation_sequence, change_summary, prepared_by, audit_event_id) VALUES
    ('f9000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
     'f3000000-0000-7000-8000-000000000001', 'e1000000-0000-7000-8000-000000000001',
     'e1000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000001', 1, 2,
     '{"guide": "v1"}', '{"guide": "v1"}', 'd0000000-0000-7000-8000-000000000001',
     'd0000000-0000-7000-8000-000000000001', pg_temp.h('1'), pg_temp.h('1'),
     'c3000000-0000-7000-8000-000000000001', 'c3000000-0000-7000-8000-000000000001', 'kept', pg_temp.h('d'),
     1, 'No context change', 'a0000000-0000-7000-8000-000000000003', 'f8000000-0000-7000-8000-000000000001');
UPDATE tasks SET status = 'needs_revision' WHERE id = 'e0000000-0000-7000-8000-000000000001';

-- Submission v2 answering F1 ------------------------------------------------------------------
INSERT INTO submission_bundle_admissions (id, task_id, task_assignment_id, contributor_id, archive_sha256,
                                          archive_byte_count, manifest, manifest_digest, locked_policy_bundle_hash,
                                          predecessor_submission_id) VALUES
    ('e2000000-0000-7000-8000-000000000002', 'e0000000-0000-7000-8000-000000000001',
     'e1000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002',
     pg_temp.h('8'), 1500, '{"schema_version": "workstream.submission_bundle_manifest.v1", "entries": []}',
     pg_temp.h('9'), pg_temp.h('1'), 'e3000000-0000-7000-8000-000000000001');
INSERT INTO submissions (id, project_id, task_id, task_assignment_id, contributor_id, version, summary,
                         contributor_attestation, submission_bundle_admission_id, archive_sha256, archive_byte_count,
                         manifest, manifest_digest, locked_guide_id, locked_guide_version,
                         locked_guide_activation_sequence, locked_policy_bundle_hash, locked_artifact_policy_hash,
                         locked_checker_policy, locked_checker_policy_hash, locked_review_policy_hash,
                         locked_revision_policy_hash, contribution_policy_version_id, supersedes_submission_id,
                         revision_context_preparation_id)
SELECT 'e3000000-0000-7000-8000-000000000002', t.project_id, t.id, a.id, a.contributor_id, 2, 'Second attempt',
       'No confidential material.', ad.id, ad.archive_sha256, ad.archive_byte_count, ad.manifest, ad.manifest_digest,
       t.locked_guide_id, t.locked_guide_version, t.locked_guide_activation_sequence, t.locked_policy_bundle_hash,
       t.locked_artifact_policy_hash, t.locked_checker_policy, t.locked_checker_policy_hash,
       t.locked_review_policy_hash, t.locked_revision_policy_hash, a.submitter_contribution_policy_version_id,
       'e3000000-0000-7000-8000-000000000001', 'f9000000-0000-7000-8000-000000000001'
FROM tasks t
JOIN task_assignments a ON a.task_id = t.id AND a.status = 'active'
JOIN submission_bundle_admissions ad ON ad.id = 'e2000000-0000-7000-8000-000000000002'
WHERE t.id = 'e0000000-0000-7000-8000-000000000001';
UPDATE submission_bundle_admissions SET state = 'consumed', consumed_at = now()
 WHERE id = 'e2000000-0000-7000-8000-000000000002';
INSERT INTO submission_finding_responses (id, finding_id, new_submission_id, task_assignment_id, preparation_id,
                                          preparation_digest, response_text) VALUES
    ('fa000000-0000-7000-8000-000000000001', 'f4000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000002', 'e1000000-0000-7000-8000-000000000001',
     'f9000000-0000-7000-8000-000000000001', pg_temp.h('d'), 'Added the induction step in section 2.');
INSERT INTO packet_files (id, submission_id, path, byte_count, sha256, executable) VALUES
    ('e4000000-0000-7000-8000-000000000002', 'e3000000-0000-7000-8000-000000000002', 'outputs/final-answer.md',
     180, pg_temp.h('0'), false);
UPDATE tasks SET status = 'submitted' WHERE id = 'e0000000-0000-7000-8000-000000000001';
UPDATE tasks SET status = 'evaluation_pending' WHERE id = 'e0000000-0000-7000-8000-000000000001';
INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash,
                          trigger_source, attempt_number, request_digest) VALUES
    ('e5000000-0000-7000-8000-000000000002', 'e0000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000002', 2, pg_temp.h('9'), pg_temp.h('3'), 'submission_locked', 1, pg_temp.h('a'));
UPDATE checker_runs SET status = 'running', started_at = now() WHERE id = 'e5000000-0000-7000-8000-000000000002';
INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, checker_version, config_hash,
                             status, severity, verdict, findings, fuel_consumed, duration_us, result_digest)
SELECT 'e6000000-0000-7000-8000-000000000002', 'e5000000-0000-7000-8000-000000000002', 0, digest, name, version,
       pg_temp.h('c'), 'passed', 'info', 'passed', '[]', 1100, 55, pg_temp.h('b')
FROM checker_components WHERE name = 'required-files';
UPDATE checker_runs SET status = 'completed', routing_recommendation = 'allow_review', completed_at = now(),
       result_digest = pg_temp.h('b')
 WHERE id = 'e5000000-0000-7000-8000-000000000002';
UPDATE tasks SET status = 'review_pending' WHERE id = 'e0000000-0000-7000-8000-000000000001';

-- Review round 2: accept ---------------------------------------------------------------------
INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version, admitting_checker_run_id,
                                  routing, routing_reason, preferred_reviewer_id, preference_expires_at) VALUES
    ('f0000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001',
     'e0000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000002', 2,
     'e5000000-0000-7000-8000-000000000002', 'preferred', 'revision_return', 'a0000000-0000-7000-8000-000000000003',
     now() + interval '1 day');
INSERT INTO review_leases (id, queue_entry_id, submission_id, reviewer_id, reviewer_contribution_policy_version_id,
                           expires_at) VALUES
    ('f1000000-0000-7000-8000-000000000002', 'f0000000-0000-7000-8000-000000000002',
     'e3000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000003',
     'c3000000-0000-7000-8000-000000000001', now() + interval '1 hour');
INSERT INTO review_packet_manifests (id, review_lease_id, submission_id, admitting_checker_run_id, manifest,
                                     manifest_digest) VALUES
    ('f2000000-0000-7000-8000-000000000002', 'f1000000-0000-7000-8000-000000000002',
     'e3000000-0000-7000-8000-000000000002', 'e5000000-0000-7000-8000-000000000002', '{"files": 1}', pg_temp.h('9'));
INSERT INTO reviews (id, task_id, submission_id, review_lease_id, predecessor_review_id, reviewer_id, decision,
                     summary, acceptance_evidence_refs, locked_guide_version, locked_review_policy_hash) VALUES
    ('f3000000-0000-7000-8000-000000000002', 'e0000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000002', 'f1000000-0000-7000-8000-000000000002',
     'f3000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000003', 'accept', 'Complete now.',
     '["packet:outputs/final-answer.md#section-2"]', 'v1', pg_temp.h('4'));
INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale) VALUES
    ('fb000000-0000-7000-8000-000000000001', 'f3000000-0000-7000-8000-000000000002',
     'f4000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000002', 'resolved',
     'The induction step is shown.');
UPDATE review_leases SET disposition = 'consumed', ended_at = now() WHERE id = 'f1000000-0000-7000-8000-000000000002';
UPDATE review_queue_entries SET state = 'closed', closed_at = now(), closed_reason = 'review_recorded'
 WHERE id = 'f0000000-0000-7000-8000-000000000002';
INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
                                  source_review_id, source_review_lease_id, artifact_hash, contribution_policy_version_id) VALUES
    ('f7000000-0000-7000-8000-000000000002', 'b0000000-0000-7000-8000-000000000001',
     'e0000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000002', 'completed_review',
     'a0000000-0000-7000-8000-000000000003', 'f3000000-0000-7000-8000-000000000002',
     'f1000000-0000-7000-8000-000000000002', pg_temp.h('8'), 'c3000000-0000-7000-8000-000000000001');
INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, accepted_submitter_id,
                               recorded_by, review_policy_hash) VALUES
    ('fc000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     'e0000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000002',
     'f3000000-0000-7000-8000-000000000002', 'a0000000-0000-7000-8000-000000000002',
     'a0000000-0000-7000-8000-000000000003', pg_temp.h('4'));
UPDATE tasks SET status = 'accepted' WHERE id = 'e0000000-0000-7000-8000-000000000001';
UPDATE task_assignments SET status = 'completed', accepted_at = now() WHERE id = 'e1000000-0000-7000-8000-000000000001';
INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, contributor_id,
                                  source_final_acceptance_id, source_task_assignment_id, artifact_hash,
                                  contribution_policy_version_id) VALUES
    ('f7000000-0000-7000-8000-000000000003', 'b0000000-0000-7000-8000-000000000001',
     'e0000000-0000-7000-8000-000000000001', 'e3000000-0000-7000-8000-000000000002', 'accepted_submission',
     'a0000000-0000-7000-8000-000000000002', 'fc000000-0000-7000-8000-000000000001',
     'e1000000-0000-7000-8000-000000000001', pg_temp.h('8'), 'c3000000-0000-7000-8000-000000000001');

-- Award, delivery and fulfilment ---------------------------------------------------------------
INSERT INTO compensation_awards (id, project_id, contribution_record_id, contribution_type, contributor_id,
                                 contribution_policy_version_id, award_definition_id, adapter_binding_id,
                                 instrument_type, unit_code, quantity, correlation_id) VALUES
    ('fd000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     'f7000000-0000-7000-8000-000000000003', 'accepted_submission', 'a0000000-0000-7000-8000-000000000002',
     'c3000000-0000-7000-8000-000000000001', 'c5000000-0000-7000-8000-000000000001',
     'c1000000-0000-7000-8000-000000000001', 'money', 'USD', 50.00, 'corr-1');
INSERT INTO compensation_status_projections (compensation_award_id, project_id) VALUES
    ('fd000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001');
INSERT INTO award_delivery_outbox (id, compensation_award_id, project_id, adapter_binding_id, payload) VALUES
    ('fe000000-0000-7000-8000-000000000001', 'fd000000-0000-7000-8000-000000000001',
     'b0000000-0000-7000-8000-000000000001', 'c1000000-0000-7000-8000-000000000001', '{"quantity": "50.00"}');
INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
                                               external_event_id, reported_status, failure_code, reported_at) VALUES
    ('ff000000-0000-7000-8000-000000000001', 'fd000000-0000-7000-8000-000000000001',
     'b0000000-0000-7000-8000-000000000001', 'c1000000-0000-7000-8000-000000000001', 'evt-1', 'failed',
     'PROVIDER_TIMEOUT', now());
INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id,
                                               external_event_id, reported_status, external_reference,
                                               fulfilled_quantity, fulfilled_at, reported_at) VALUES
    ('ff000000-0000-7000-8000-000000000002', 'fd000000-0000-7000-8000-000000000001',
     'b0000000-0000-7000-8000-000000000001', 'c1000000-0000-7000-8000-000000000001', 'evt-2', 'fulfilled',
     'payout-42', 50.00, now(), now());
UPDATE compensation_status_projections
   SET delivery_status = 'acknowledged_by_adapter', acknowledged_at = now(), fulfillment_status = 'fulfilled',
       latest_receipt_id = 'ff000000-0000-7000-8000-000000000002', external_reference = 'payout-42', fulfilled_at = now()
 WHERE compensation_award_id = 'fd000000-0000-7000-8000-000000000001';

-- Reputation, lessons, sprints, idempotency, jobs ---------------------------------------------
INSERT INTO reputation_events (id, actor_id, project_id, role, event_type, task_id, submission_id,
                               contribution_record_id, skill_tags, weight, score_delta, source_key) VALUES
    ('ab000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002',
     'b0000000-0000-7000-8000-000000000001', 'submitter', 'accepted', 'e0000000-0000-7000-8000-000000000001',
     'e3000000-0000-7000-8000-000000000002', 'f7000000-0000-7000-8000-000000000003', '{coding}', 1, 3,
     'review:f3000000-0000-7000-8000-000000000002:submitter');
INSERT INTO reputation_scores (actor_id, role, skill_tag, score, accepted_count, event_count, last_event_id) VALUES
    ('a0000000-0000-7000-8000-000000000002', 'submitter', '*', 3, 1, 1, 'ab000000-0000-7000-8000-000000000001'),
    ('a0000000-0000-7000-8000-000000000002', 'submitter', 'coding', 3, 1, 1, 'ab000000-0000-7000-8000-000000000001');
INSERT INTO project_lessons (id, project_id, guide_id, guide_version, source, lesson_type, summary,
                             recommended_change, created_by) VALUES
    ('ac000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001',
     'd0000000-0000-7000-8000-000000000001', 'v1', 'reviewer_finding', 'guide_update', 'F1 recurring',
     'Ask for the induction step explicitly', 'a0000000-0000-7000-8000-000000000001');
INSERT INTO evaluation_sprints (id, project_id, name, starts_at, ends_at, created_by) VALUES
    ('ad000000-0000-7000-8000-000000000001', 'b0000000-0000-7000-8000-000000000001', 'Pilot batch 1',
     now() - interval '1 day', now() + interval '6 days', 'a0000000-0000-7000-8000-000000000001');
INSERT INTO evaluation_sprint_tasks (sprint_id, task_id, project_id, added_by) VALUES
    ('ad000000-0000-7000-8000-000000000001', 'e0000000-0000-7000-8000-000000000001',
     'b0000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000001');
INSERT INTO idempotency_records (id, actor_id, operation, idempotency_key, request_hash, response_status, response_body,
                                 resource_type, resource_id) VALUES
    ('ae000000-0000-7000-8000-000000000001', 'a0000000-0000-7000-8000-000000000002', 'task.claim',
     '0190d2c4-0000-7000-8000-000000000001', pg_temp.h('a'), 200, '{"status": "claimed"}', 'task',
     'e0000000-0000-7000-8000-000000000001');
INSERT INTO jobs (id, kind, payload, idempotency_key) VALUES
    ('af000000-0000-7000-8000-000000000001', 'award.deliver', '{"outbox_id": "fe000000-0000-7000-8000-000000000001"}',
     'award.deliver:fe000000-0000-7000-8000-000000000001');
