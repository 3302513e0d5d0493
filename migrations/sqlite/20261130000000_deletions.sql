-- One noun for the queued thing: a customer's deletion. The queue table is `deletions`, and its
-- trigger is named for it (src/store/deletion.rs, MARKS_CUSTOMER_DELETING, relies on the name).
DROP TRIGGER deletion_jobs_mark_customer_deleting;
ALTER TABLE deletion_jobs RENAME TO deletions;
DROP INDEX deletion_jobs_due;
CREATE INDEX deletions_due ON deletions (due_at) WHERE state = 'pending';

-- Queuing a customer's deletion marks the customer deleting, inside the statement that queues
-- it: a deletion never exists for a customer still active, and on SQLite a batch of DELETEs is
-- one statement, atomic without an explicit transaction (src/store/sqlite/batch.rs).
CREATE TRIGGER deletions_mark_customer_deleting
AFTER INSERT ON deletions
WHEN NEW.state = 'pending'
BEGIN
    UPDATE customers SET state = 'deleting', deleting_at = NEW.created_at
     WHERE account = NEW.account AND id = NEW.customer_id AND state = 'active';
END;

-- Due times are written in one format, the one sqlx binds (src/store/sqlite/mod.rs,
-- timestamp_text); the batch once wrote whole seconds as `.000`, which sorts apart as text.
UPDATE deletions SET due_at = replace(due_at, '.000+00:00', '+00:00')
 WHERE due_at LIKE '%.000+00:00';
