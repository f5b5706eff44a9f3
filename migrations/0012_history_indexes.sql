-- Reads whose cost must not grow with history. The benchmark's history part
-- (bench/src/history/) times them on a fresh database and after a busy year written
-- into it, with the plans; each index below removes a walk over a project's whole
-- history that those plans showed.

-- A page of a project's tasks is ordered by id (the cursor is the last id): one status
-- (the ready queue, a manager's filter) or all of them.
DROP INDEX tasks_project_status_idx;
DROP INDEX tasks_ready_queue_idx;
CREATE INDEX tasks_project_status_idx ON tasks (project_id, status, id);
CREATE INDEX tasks_project_idx ON tasks (project_id, id);

-- A task's audit trail: the events of its entities, whatever their type, and the events
-- that name the task in their payload (review leases, revision preparations).
DROP INDEX audit_events_entity_idx;
CREATE INDEX audit_events_entity_idx ON audit_events (entity_id, occurred_at);
CREATE INDEX audit_events_task_idx ON audit_events ((payload ->> 'task_id'))
    WHERE payload ? 'task_id';

-- A task's contribution records (its trail's awards, its outcome views).
CREATE INDEX contribution_records_task_idx ON contribution_records (task_id);
