-- The import task's state machine (shared/db/imports.py): `cancelling` lasts from Cancel until
-- every data row has a report line. `progress_at` drives the no-progress timeout, and
-- `results_deleted_at` says that retention has deleted the task's per-row results.

ALTER TABLE import_task DROP CONSTRAINT import_task_status_check;
ALTER TABLE import_task ADD CONSTRAINT import_task_status_check CHECK (
    status IN ('pending', 'running', 'completed', 'failed', 'cancelling', 'cancelled')
);
ALTER TABLE import_task ADD COLUMN progress_at timestamptz NOT NULL DEFAULT now(),
                        ADD COLUMN results_deleted_at timestamptz;

DROP INDEX import_task_unfinished;
CREATE INDEX import_task_unfinished ON import_task (status)
    WHERE status IN ('pending', 'running', 'cancelling');
-- Retention looks for final tasks whose results are still kept.
CREATE INDEX import_task_results_kept ON import_task (finished_at)
    WHERE results_deleted_at IS NULL AND finished_at IS NOT NULL;
