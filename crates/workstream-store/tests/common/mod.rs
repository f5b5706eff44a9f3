//! A complete, valid history built row by row in SQL, for the tests of the rules the
//! database enforces itself (`append_only.rs`, `state_moves.rs`).
//!
//! Each test binary uses a different part of it.
#![allow(dead_code)]

use sqlx::PgPool;
use uuid::Uuid;

/// Runs one statement with its bind parameters: `sql!(executor, "…", a, b)`.
macro_rules! sql {
    ($executor:expr, $query:expr $(, $bind:expr)* $(,)?) => {
        sqlx::query($query)$(.bind($bind))*.execute($executor).await
    };
}

/// A readable stand-in digest: `h('1')` is `sha256:111…1`.
pub fn h(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// A new time-ordered id.
pub fn id() -> Uuid {
    Uuid::now_v7()
}

// ------------------------------------------------------------------------------------------
// Building a valid history
// ------------------------------------------------------------------------------------------

/// A project ready for work: actors, grants, a published contribution policy (accepted
/// submissions pay 50 USD, reviews are unpaid), a registered checker and an active guide.
pub struct Setup {
    pub pm: Uuid,
    pub submitter: Uuid,
    pub reviewer: Uuid,
    pub project: Uuid,
    pub qualification: Uuid,
    pub binding: Uuid,
    pub policy_version: Uuid,
    pub rules: [Uuid; 2],
    pub definition: Uuid,
    pub checker_digest: String,
    pub guide: Uuid,
}

impl Setup {
    pub async fn create(pool: &PgPool) -> Setup {
        let (pm, submitter, reviewer, adapter) = (id(), id(), id(), id());
        for (actor, name) in [
            (pm, "Pat Manager"),
            (submitter, "Sam Submitter"),
            (reviewer, "Riley Reviewer"),
        ] {
            sql!(
                pool,
                "INSERT INTO actor_profiles (id, kind, display_name) VALUES ($1, 'human', $2)",
                actor,
                name
            )
            .unwrap();
        }
        sql!(
            pool,
            "INSERT INTO actor_profiles (id, kind, display_name, service_identity) \
             VALUES ($1, 'service', 'Local payment adapter', $2)",
            adapter,
            format!("workstream.adapter.{}", adapter.simple()),
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO actor_identity_links (id, actor_profile_id, issuer, subject, last_verified_at) \
             VALUES ($1, $2, 'https://auth.flow.local', $3, now())",
            id(),
            submitter,
            submitter.to_string(),
        )
        .unwrap();

        let project = id();
        sql!(
            pool,
            "INSERT INTO projects (id, name, slug, created_by) VALUES ($1, 'Demo', $2, $3)",
            project,
            format!("demo-{}", project.simple()),
            pm,
        )
        .unwrap();
        let pm_grant = id();
        sql!(
            pool,
            "INSERT INTO admin_role_grants (id, target_actor_id, role, scope_type, issued_by_principal, grant_reason) \
             VALUES ($1, $2, 'project_manager', 'system', 'workstream:system:bootstrap', 'bootstrap')",
            pm_grant,
            pm,
        )
        .unwrap();
        let qualification = id();
        sql!(
            pool,
            "INSERT INTO project_role_qualification_snapshots (id, project_id, actor_id, requested_role, captured_by) \
             VALUES ($1, $2, $3, 'submitter', $4)",
            qualification,
            project,
            submitter,
            pm,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO project_role_grants (id, project_id, actor_id, role, qualification_snapshot_id, issued_by, \
                                              issuing_admin_grant_id, grant_reason) \
             VALUES ($1, $2, $3, 'submitter', $4, $5, $6, 'qualified')",
            id(),
            project,
            submitter,
            qualification,
            pm,
            pm_grant,
        )
        .unwrap();

        let binding = id();
        sql!(
            pool,
            "INSERT INTO project_compensation_units (id, project_id, instrument_type, unit_code, iso_currency_code, \
                                                     created_by) \
             VALUES ($1, $2, 'money', 'USD', 'USD', $3)",
            id(),
            project,
            pm,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, \
                                                                route_key, created_by) \
             VALUES ($1, $2, 'money', $3, 'local.default', $4)",
            binding,
            project,
            adapter,
            pm,
        )
        .unwrap();
        let (policy, policy_version, definition) = (id(), id(), id());
        let rules = [id(), id()];
        sql!(
            pool,
            "INSERT INTO contribution_policies (id, project_id, name, created_by) VALUES ($1, $2, 'Default', $3)",
            policy,
            project,
            pm,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO contribution_policy_versions (id, contribution_policy_id, project_id, version_number, \
                                                       created_by) \
             VALUES ($1, $2, $3, 1, $4)",
            policy_version,
            policy,
            project,
            pm,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode) \
             VALUES ($1, $3, $4, 'accepted_submission', 'compensated'), \
                    ($2, $3, $4, 'completed_review', 'unpaid')",
            rules[0],
            rules[1],
            policy_version,
            project,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO contribution_award_definitions (id, rule_id, version_id, project_id, contribution_type, \
                                                         instrument_type, unit_code, quantity, adapter_binding_id) \
             VALUES ($1, $2, $3, $4, 'accepted_submission', 'money', 'USD', $5::numeric, $6)",
            definition,
            rules[0],
            policy_version,
            project,
            "50.00",
            binding,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE contribution_policy_versions SET status = 'published', published_by = $2, published_at = now() \
             WHERE id = $1",
            policy_version,
            pm,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE contribution_policies SET status = 'active', current_published_version_id = $2 WHERE id = $1",
            policy,
            policy_version,
        )
        .unwrap();

        // Stand-in component bytes; the schema checks digest == sha256(bytes).
        let component = [0x00u8, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
        let (checker_digest,): (String,) = sqlx::query_as(
            "INSERT INTO checker_components (digest, name, version, config_schema, wasm_bytes, byte_count, builtin) \
             VALUES ('sha256:' || encode(sha256($1), 'hex'), 'required-files', '0.1.0', '{\"type\": \"object\"}', \
                     $1, octet_length($1), true) \
             RETURNING digest",
        )
        .bind(component.to_vec())
        .fetch_one(pool)
        .await
        .expect("register the checker component");

        let guide = id();
        sql!(
            pool,
            "INSERT INTO project_guides (id, project_id, version, status, activation_sequence, content_markdown, \
                                         policy_bundle, policy_bundle_hash, artifact_policy_hash, checker_policy_hash, \
                                         review_policy_hash, revision_policy_hash, contribution_policy_version_id, \
                                         approved_by, effective_at, created_by) \
             VALUES ($1, $2, 'v1', 'active', 1, '# Guide', \
                     '{\"artifact_policy\": {}, \"checker_policy\": {\"checkers\": []}, \"review_policy\": {}, \
                       \"revision_policy\": {}}', \
                     $3, $4, $5, $6, $7, $8, $9, now(), $9)",
            guide,
            project,
            h('1'),
            h('2'),
            h('3'),
            h('4'),
            h('5'),
            policy_version,
            pm,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE projects SET status = 'active', activated_at = now() WHERE id = $1",
            project
        )
        .unwrap();

        Setup {
            pm,
            submitter,
            reviewer,
            project,
            qualification,
            binding,
            policy_version,
            rules,
            definition,
            checker_digest,
            guide,
        }
    }

    /// A task walked draft -> screening -> ready -> claimed -> in_progress, with the
    /// submitter's active assignment. Returns (task, assignment).
    pub async fn start_task(&self, pool: &PgPool) -> (Uuid, Uuid) {
        let (task, assignment) = (id(), id());
        sql!(
            pool,
            "INSERT INTO tasks (id, project_id, title, description, acceptance_criteria, rejection_criteria, \
                                skill_tags, created_by) \
             VALUES ($1, $2, 'Prove the lemma', 'Write a proof.', 'A complete proof', 'Plagiarism', '{coding}', $3)",
            task,
            self.project,
            self.pm,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'screening', locked_guide_id = g.id, locked_guide_version = g.version, \
                    locked_guide_activation_sequence = g.activation_sequence, \
                    locked_policy_bundle_hash = g.policy_bundle_hash, \
                    locked_artifact_policy_hash = g.artifact_policy_hash, \
                    locked_checker_policy = g.policy_bundle -> 'checker_policy', \
                    locked_checker_policy_hash = g.checker_policy_hash, \
                    locked_review_policy_hash = g.review_policy_hash, \
                    locked_revision_policy_hash = g.revision_policy_hash, locked_at = now() \
             FROM project_guides g WHERE g.id = $2 AND tasks.id = $1",
            task,
            self.guide,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'ready', locked_contribution_policy_version_id = $2 WHERE id = $1",
            task,
            self.policy_version,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'claimed', assigned_to = $2 WHERE id = $1",
            task,
            self.submitter
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, \
                                           submitter_contribution_policy_version_id) \
             VALUES ($1, $2, $3, $3, $4)",
            assignment,
            task,
            self.submitter,
            self.policy_version,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'in_progress' WHERE id = $1",
            task
        )
        .unwrap();
        (task, assignment)
    }

    /// Admission + submission `version` of the task (stamps copied from the task), the
    /// admission consumed; the task is not moved. `source` is (supersedes, preparation).
    pub async fn submit(
        &self,
        pool: &PgPool,
        task: Uuid,
        version: i32,
        source: Option<(Uuid, Uuid)>,
    ) -> Result<Uuid, sqlx::Error> {
        let (admission, submission) = (id(), id());
        let archive = format!("sha256:{:0>64}", format!("{:x}", admission.as_u128()));
        let manifest = format!("sha256:{:0>64}", format!("{:x}", submission.as_u128()));
        sql!(
            pool,
            "INSERT INTO submission_bundle_admissions (id, task_id, task_assignment_id, contributor_id, archive_sha256, \
                                                       archive_byte_count, manifest, manifest_digest, \
                                                       locked_policy_bundle_hash) \
             SELECT $1, a.task_id, a.id, a.contributor_id, $3, 1234, '{\"entries\": []}', $4, t.locked_policy_bundle_hash \
             FROM task_assignments a JOIN tasks t ON t.id = a.task_id WHERE a.task_id = $2 AND a.status = 'active'",
            admission,
            task,
            archive,
            manifest,
        )?;
        let (supersedes, preparation) = source.unzip();
        sql!(
            pool,
            "INSERT INTO submissions (id, project_id, task_id, task_assignment_id, contributor_id, version, summary, \
                                      contributor_attestation, submission_bundle_admission_id, archive_sha256, \
                                      archive_byte_count, manifest, manifest_digest, locked_guide_id, \
                                      locked_guide_version, locked_guide_activation_sequence, \
                                      locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy, \
                                      locked_checker_policy_hash, locked_review_policy_hash, \
                                      locked_revision_policy_hash, contribution_policy_version_id, \
                                      supersedes_submission_id, revision_context_preparation_id) \
             SELECT $1, t.project_id, t.id, ad.task_assignment_id, ad.contributor_id, $3, 'My answer', \
                    'No confidential material.', ad.id, ad.archive_sha256, ad.archive_byte_count, ad.manifest, \
                    ad.manifest_digest, t.locked_guide_id, t.locked_guide_version, \
                    t.locked_guide_activation_sequence, t.locked_policy_bundle_hash, t.locked_artifact_policy_hash, \
                    t.locked_checker_policy, t.locked_checker_policy_hash, t.locked_review_policy_hash, \
                    t.locked_revision_policy_hash, t.locked_contribution_policy_version_id, $4, $5 \
             FROM tasks t JOIN submission_bundle_admissions ad ON ad.id = $2 WHERE t.id = ad.task_id",
            submission,
            admission,
            version,
            supersedes,
            preparation,
        )?;
        sql!(
            pool,
            "UPDATE submission_bundle_admissions SET state = 'consumed', consumed_at = now() WHERE id = $1",
            admission,
        )?;
        Ok(submission)
    }

    /// One checker run of the submission with one passed result, completed as
    /// allow_review; the task moves submitted -> evaluation_pending -> review_pending.
    /// Returns (run, result).
    pub async fn pass_checks(&self, pool: &PgPool, task: Uuid, submission: Uuid) -> (Uuid, Uuid) {
        let (run, result) = (id(), id());
        sql!(
            pool,
            "UPDATE tasks SET status = 'submitted' WHERE id = $1",
            task
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'evaluation_pending' WHERE id = $1",
            task
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, policy_hash, \
                                       trigger_source, attempt_number, request_digest) \
             SELECT $1, task_id, id, version, manifest_digest, locked_checker_policy_hash, 'submission_locked', 1, $3 \
             FROM submissions WHERE id = $2",
            run,
            submission,
            h('a'),
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE checker_runs SET status = 'running', started_at = now() WHERE id = $1",
            run
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, checker_version, \
                                          config_hash, status, severity, verdict, findings, fuel_consumed, \
                                          duration_us, result_digest) \
             VALUES ($1, $2, 0, $3, 'required-files', '0.1.0', $4, 'passed', 'info', 'passed', '[]', 1000, 50, $5)",
            result,
            run,
            &self.checker_digest,
            h('c'),
            h('b'),
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE checker_runs SET status = 'completed', routing_recommendation = 'allow_review', \
                    completed_at = now(), result_digest = $2 WHERE id = $1",
            run,
            h('b'),
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'review_pending' WHERE id = $1",
            task
        )
        .unwrap();
        (run, result)
    }

    /// Queue entry + the reviewer's lease + the packet manifest they were shown.
    /// Returns (entry, lease, packet manifest).
    pub async fn lease(
        &self,
        pool: &PgPool,
        submission: Uuid,
        run: Uuid,
        preferred: bool,
    ) -> (Uuid, Uuid, Uuid) {
        let (entry, lease, manifest) = (id(), id(), id());
        sql!(
            pool,
            "INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version, \
                                               admitting_checker_run_id, routing, routing_reason, \
                                               preferred_reviewer_id, preference_expires_at) \
             SELECT $1, t.project_id, s.task_id, s.id, s.version, $3, \
                    CASE WHEN $4 THEN 'preferred' ELSE 'open' END, \
                    CASE WHEN $4 THEN 'revision_return' ELSE 'first_submission' END, \
                    CASE WHEN $4 THEN $5::uuid END, CASE WHEN $4 THEN now() + interval '1 day' END \
             FROM submissions s JOIN tasks t ON t.id = s.task_id WHERE s.id = $2",
            entry,
            submission,
            run,
            preferred,
            self.reviewer,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO review_leases (id, queue_entry_id, submission_id, reviewer_id, \
                                        reviewer_contribution_policy_version_id, expires_at) \
             VALUES ($1, $2, $3, $4, $5, now() + interval '1 hour')",
            lease,
            entry,
            submission,
            self.reviewer,
            self.policy_version,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO review_packet_manifests (id, review_lease_id, submission_id, admitting_checker_run_id, \
                                                  manifest, manifest_digest) \
             VALUES ($1, $2, $3, $4, '{\"files\": 1}', $5)",
            manifest,
            lease,
            submission,
            run,
            h('9'),
        )
        .unwrap();
        (entry, lease, manifest)
    }

    /// Lease consumed, entry closed, and the reviewer's (unpaid) completed_review record.
    pub async fn close_round(&self, pool: &PgPool, entry: Uuid, lease: Uuid, review: Uuid) -> Uuid {
        sql!(
            pool,
            "UPDATE review_leases SET disposition = 'consumed', ended_at = now() WHERE id = $1",
            lease
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE review_queue_entries SET state = 'closed', closed_at = now(), closed_reason = 'review_recorded' \
             WHERE id = $1",
            entry,
        )
        .unwrap();
        let record = id();
        sql!(
            pool,
            "INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, \
                                               contributor_id, source_review_id, source_review_lease_id, \
                                               artifact_hash, contribution_policy_version_id) \
             SELECT $1, $2, r.task_id, r.submission_id, 'completed_review', r.reviewer_id, r.id, r.review_lease_id, \
                    s.archive_sha256, $4 \
             FROM reviews r JOIN submissions s ON s.id = r.submission_id WHERE r.id = $3",
            record,
            self.project,
            review,
            self.policy_version,
        )
        .unwrap();
        record
    }
}

/// A complete history: two review rounds (needs_revision with a blocking finding, then
/// accept resolving it), a final acceptance, contributions, a 50 USD award with a failed
/// then a fulfilled receipt, and every side record.
pub struct History {
    pub setup: Setup,
    pub task: Uuid,
    pub submission: Uuid,
    pub packet_file: Uuid,
    pub result: Uuid,
    pub review: Uuid,
    pub finding: Uuid,
    pub audit_event: Uuid,
    pub preparation: Uuid,
    pub response: Uuid,
    pub resolution: Uuid,
    pub final_acceptance: Uuid,
    pub contribution: Uuid,
    pub award: Uuid,
    pub receipt: Uuid,
    pub reputation_event: Uuid,
    pub packet_manifest: Uuid,
}

impl History {
    pub async fn create(pool: &PgPool) -> History {
        let setup = Setup::create(pool).await;
        let (task, assignment) = setup.start_task(pool).await;

        // Round 1: v1, checks pass, needs_revision with blocking finding F1.
        let v1 = setup.submit(pool, task, 1, None).await.unwrap();
        let packet_file = id();
        sql!(
            pool,
            "INSERT INTO packet_files (id, submission_id, path, byte_count, sha256, executable) \
             VALUES ($1, $2, 'outputs/final-answer.md', 120, $3, false)",
            packet_file,
            v1,
            h('f'),
        )
        .unwrap();
        let (run1, result) = setup.pass_checks(pool, task, v1).await;
        let (entry1, lease1, _) = setup.lease(pool, v1, run1, false).await;
        let (review1, finding) = (id(), id());
        // The review and its findings commit together: a needs_revision review without
        // an open blocking finding is refused at commit (deferred constraint trigger).
        let mut tx = pool.begin().await.unwrap();
        sql!(
            &mut *tx,
            "INSERT INTO reviews (id, task_id, submission_id, review_lease_id, reviewer_id, decision, summary, \
                                  locked_guide_version, locked_review_policy_hash) \
             VALUES ($1, $2, $3, $4, $5, 'needs_revision', 'Step 3 is missing.', 'v1', $6)",
            review1,
            task,
            v1,
            lease1,
            setup.reviewer,
            h('4'),
        )
        .unwrap();
        sql!(
            &mut *tx,
            "INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue, rationale, required_fix) \
             VALUES ($1, $2, 1, 'blocking', 'proof', 'Step 3 is missing', 'The induction step is not shown', \
                     'Show the induction step'), \
                    ($3, $2, 2, 'advisory', 'style', 'Long lines', NULL, NULL)",
            finding,
            review1,
            id(),
        )
        .unwrap();
        tx.commit().await.unwrap();
        setup.close_round(pool, entry1, lease1, review1).await;

        let audit_event = id();
        sql!(
            pool,
            "INSERT INTO audit_events (id, chain_key, chain_seq, project_id, entity_type, entity_id, event_type, \
                                       from_status, to_status, actor_id, occurred_at, prev_digest, digest) \
             VALUES ($1, $2, 1, $3, 'task', $4, 'review_decided', 'review_pending', 'needs_revision', $5, now(), \
                     NULL, $6)",
            audit_event,
            format!("project:{}", setup.project),
            setup.project,
            task,
            setup.reviewer,
            h('e'),
        )
        .unwrap();
        let preparation = id();
        sql!(
            pool,
            "INSERT INTO revision_context_preparations (id, task_id, originating_review_id, \
                    source_task_assignment_id, target_task_assignment_id, prior_submission_id, \
                    prior_submission_version, next_submission_version, prior_context, next_context, prior_guide_id, \
                    next_guide_id, prior_policy_bundle_hash, next_policy_bundle_hash, \
                    prior_contribution_policy_version_id, next_contribution_policy_version_id, outcome, \
                    context_digest, preparation_sequence, prepared_by, audit_event_id) \
             VALUES ($1, $2, $3, $4, $4, $5, 1, 2, '{}', '{}', $6, $6, $7, $7, $8, $8, 'kept', $9, 1, $10, $11)",
            preparation,
            task,
            review1,
            assignment,
            v1,
            setup.guide,
            h('1'),
            setup.policy_version,
            h('d'),
            setup.reviewer,
            audit_event,
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'needs_revision' WHERE id = $1",
            task
        )
        .unwrap();

        // Round 2: v2 answers F1, checks pass, the same reviewer accepts.
        let v2 = setup
            .submit(pool, task, 2, Some((v1, preparation)))
            .await
            .unwrap();
        let response = id();
        sql!(
            pool,
            "INSERT INTO submission_finding_responses (id, finding_id, new_submission_id, task_assignment_id, \
                                                       preparation_id, preparation_digest, response_text) \
             VALUES ($1, $2, $3, $4, $5, $6, 'Added the induction step in section 2.')",
            response,
            finding,
            v2,
            assignment,
            preparation,
            h('d'),
        )
        .unwrap();
        let (run2, _) = setup.pass_checks(pool, task, v2).await;
        let (entry2, lease2, packet_manifest) = setup.lease(pool, v2, run2, true).await;
        let (review2, resolution) = (id(), id());
        let mut tx = pool.begin().await.unwrap();
        sql!(
            &mut *tx,
            "INSERT INTO reviews (id, task_id, submission_id, review_lease_id, predecessor_review_id, reviewer_id, \
                                  decision, summary, acceptance_evidence_refs, locked_guide_version, \
                                  locked_review_policy_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, 'accept', 'Complete now.', '[\"packet:outputs/final-answer.md\"]', \
                     'v1', $7)",
            review2,
            task,
            v2,
            lease2,
            review1,
            setup.reviewer,
            h('4'),
        )
        .unwrap();
        sql!(
            &mut *tx,
            "INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, result, rationale) \
             VALUES ($1, $2, $3, $4, 'resolved', 'The induction step is shown.')",
            resolution,
            review2,
            finding,
            v2,
        )
        .unwrap();
        tx.commit().await.unwrap();
        setup.close_round(pool, entry2, lease2, review2).await;

        // Acceptance, the submitter's contribution and its award.
        let (final_acceptance, contribution, award) = (id(), id(), id());
        sql!(
            pool,
            "INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, \
                                            accepted_submitter_id, recorded_by, review_policy_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            final_acceptance,
            setup.project,
            task,
            v2,
            review2,
            setup.submitter,
            setup.reviewer,
            h('4'),
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE tasks SET status = 'accepted' WHERE id = $1",
            task
        )
        .unwrap();
        sql!(
            pool,
            "UPDATE task_assignments SET status = 'completed', accepted_at = now() WHERE id = $1",
            assignment
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, \
                                               contributor_id, source_final_acceptance_id, source_task_assignment_id, \
                                               artifact_hash, contribution_policy_version_id) \
             SELECT $1, $2, task_id, id, 'accepted_submission', contributor_id, $4, task_assignment_id, \
                    archive_sha256, contribution_policy_version_id \
             FROM submissions WHERE id = $3",
            contribution,
            setup.project,
            v2,
            final_acceptance,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO compensation_awards (id, project_id, contribution_record_id, contribution_type, \
                                              contributor_id, contribution_policy_version_id, award_definition_id, \
                                              adapter_binding_id, instrument_type, unit_code, quantity, \
                                              correlation_id) \
             SELECT $1, $2, $3, d.contribution_type, $4, d.version_id, d.id, d.adapter_binding_id, d.instrument_type, \
                    d.unit_code, d.quantity, 'corr-1' \
             FROM contribution_award_definitions d WHERE d.id = $5",
            award,
            setup.project,
            contribution,
            setup.submitter,
            setup.definition,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO compensation_status_projections (compensation_award_id, project_id) VALUES ($1, $2)",
            award,
            setup.project,
        )
        .unwrap();
        sql!(
            pool,
            "INSERT INTO award_delivery_outbox (id, compensation_award_id, project_id, adapter_binding_id, payload) \
             VALUES ($1, $2, $3, $4, '{\"quantity\": \"50.00\"}')",
            id(),
            award,
            setup.project,
            setup.binding,
        )
        .unwrap();

        // A failed delivery, then the fulfilment.
        sql!(
            pool,
            "INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, \
                                                            adapter_binding_id, external_event_id, reported_status, \
                                                            failure_code, reported_at) \
             VALUES ($1, $2, $3, $4, 'evt-1', 'failed', 'PROVIDER_TIMEOUT', now())",
            id(),
            award,
            setup.project,
            setup.binding,
        )
        .unwrap();
        let receipt = id();
        sql!(
            pool,
            "INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, \
                                                            adapter_binding_id, external_event_id, reported_status, \
                                                            external_reference, fulfilled_quantity, fulfilled_at, \
                                                            reported_at) \
             VALUES ($1, $2, $3, $4, 'evt-2', 'fulfilled', 'payout-42', $5::numeric, now(), now())",
            receipt,
            award,
            setup.project,
            setup.binding,
            "50.00",
        )
        .unwrap();

        let reputation_event = id();
        sql!(
            pool,
            "INSERT INTO reputation_events (id, actor_id, project_id, role, event_type, task_id, submission_id, \
                                            contribution_record_id, skill_tags, score_delta, source_key) \
             VALUES ($1, $2, $3, 'submitter', 'accepted', $4, $5, $6, '{coding}', 3, $7)",
            reputation_event,
            setup.submitter,
            setup.project,
            task,
            v2,
            contribution,
            format!("review:{review2}:submitter"),
        )
        .unwrap();

        History {
            setup,
            task,
            submission: v2,
            packet_file,
            result,
            review: review2,
            finding,
            audit_event,
            preparation,
            response,
            resolution,
            final_acceptance,
            contribution,
            award,
            receipt,
            reputation_event,
            packet_manifest,
        }
    }
}
