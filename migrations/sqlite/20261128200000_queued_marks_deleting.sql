-- Queuing a customer's cascade marks the customer deleting (SPEC §5 step 2), inside the statement
-- that queues it. A job therefore never exists for a customer still active, and on SQLite a batch
-- of DELETEs is one statement: atomic without an explicit transaction, one round trip to SQLite's
-- thread (see src/store/group.rs).
CREATE TRIGGER deletion_jobs_mark_customer_deleting
AFTER INSERT ON deletion_jobs
WHEN NEW.state = 'pending'
BEGIN
    UPDATE customers SET state = 'deleting', deleting_at = NEW.created_at
     WHERE account = NEW.account AND id = NEW.customer_id AND state = 'active';
END;
