-- The live rows of a table, by name: where the SQL of the store and the engine would
-- otherwise spell a state.
--
-- A statement that finds "the task's active assignment" or "the due jobs" walks a
-- partial index whose predicate is a state literal (`WHERE status = 'active'`), and
-- PostgreSQL uses a partial index only when the query's own predicate implies it at plan
-- time: a state bound as a parameter does not, once a prepared statement runs on its
-- generic plan. So those predicates could not be bound from the domain's enums, and the
-- literal had to be written beside each statement. Each view below writes it once, here,
-- beside the index it matches. The planner inlines a view, so
-- `SELECT ... FROM running_jobs WHERE lease_expires_at <= now()` plans exactly as the
-- statement with the literal did; the simple ones are updatable (`UPDATE
-- active_review_leases SET ... WHERE id = $1` updates review_leases, triggers and all)
-- and lockable (`FOR UPDATE [SKIP LOCKED]` locks the table's row).
--
-- Every other state the store and the engine write or compare is bound from the domain
-- (`TaskState::Ready.as_str()` and the like); crates/workstream-store/src/lib.rs has a
-- test that fails on a state literal in their SQL.
--
-- A view's `*` is its table's columns when the view was made: a migration that adds a
-- column to one of these tables and wants it read through the view recreates the view.

-- The job queue (migrations/0001_foundation.sql, `jobs_claim_idx` and
-- `jobs_running_lease_idx`).
CREATE VIEW waiting_jobs AS
    SELECT * FROM jobs WHERE state IN ('available', 'retryable');
CREATE VIEW running_jobs AS
    SELECT * FROM jobs WHERE state = 'running';

-- A task's one active assignment (`tasks_one_active_assignment`).
CREATE VIEW active_task_assignments AS
    SELECT * FROM task_assignments WHERE status = 'active';

-- A project's one active guide (`project_guides_one_active_per_project`).
CREATE VIEW active_project_guides AS
    SELECT * FROM project_guides WHERE status = 'active';

-- Authority in force: a profile's one active identity link, and the active grants
-- (`actor_identity_links_one_active_per_profile`, `admin_role_grants_one_active`,
-- `admin_role_grants_scope_idx`, `project_role_grants_actor_idx`).
CREATE VIEW active_identity_links AS
    SELECT * FROM actor_identity_links WHERE status = 'active';
CREATE VIEW active_admin_role_grants AS
    SELECT * FROM admin_role_grants WHERE status = 'active';
CREATE VIEW active_project_role_grants AS
    SELECT * FROM project_role_grants WHERE status = 'active';

-- The review queue: entries waiting for a reviewer, and the leases held now
-- (`review_queue_entries_pending_idx`, `review_leases_one_active_per_entry`,
-- `review_leases_one_active_per_reviewer`, `review_leases_expiry_idx`).
CREATE VIEW pending_review_queue_entries AS
    SELECT * FROM review_queue_entries WHERE state = 'pending';
CREATE VIEW active_review_leases AS
    SELECT * FROM review_leases WHERE disposition = 'active';

-- The one resolution that closed a finding, resolved or not applicable
-- (`finding_resolutions_closed_once`).
CREATE VIEW closing_finding_resolutions AS
    SELECT * FROM finding_resolutions WHERE result IN ('resolved', 'not_applicable');
