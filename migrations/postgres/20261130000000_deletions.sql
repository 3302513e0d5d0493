-- One noun for the queued thing: a customer's deletion. The queue table is `deletions`, and its
-- trigger is named for it (src/store/deletion.rs, MARKS_CUSTOMER_DELETING, relies on the name).
ALTER TABLE deletion_jobs RENAME TO deletions;
ALTER INDEX deletion_jobs_due RENAME TO deletions_due;
ALTER TRIGGER deletion_jobs_mark_customer_deleting ON deletions
    RENAME TO deletions_mark_customer_deleting;
