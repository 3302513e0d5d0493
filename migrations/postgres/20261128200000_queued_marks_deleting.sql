-- Queuing a customer's cascade marks the customer deleting (SPEC §5 step 2), inside the statement
-- that queues it, as on SQLite: a job never exists for a customer still active. The DELETE takes
-- the customer's row lock before it queues, so the trigger's UPDATE never waits.
CREATE FUNCTION mark_customer_deleting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers SET state = 'deleting', deleting_at = NEW.created_at
     WHERE account = NEW.account AND id = NEW.customer_id AND state = 'active';
    RETURN NULL;
END
$$;

CREATE TRIGGER deletion_jobs_mark_customer_deleting
AFTER INSERT ON deletion_jobs
FOR EACH ROW WHEN (NEW.state = 'pending')
EXECUTE FUNCTION mark_customer_deleting();
