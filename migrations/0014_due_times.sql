-- When a claim's first submission is due. Set once, at the claim, from the task's own
-- deadline_at and the locked revision policy's optional due_time_factor (a multiple of
-- estimated_time_minutes after the claim), whichever is earlier; never changed after
-- (task_assignments_guard lets only status fields change). Null: nothing makes the task
-- due. A first submission after it earns the submitter the late_submission reputation
-- event (crates/workstream-engine/src/reputation.rs).
ALTER TABLE task_assignments ADD COLUMN due_at timestamptz;
