-- The cascade-drain limit on PostgreSQL: the soft deletes of every customer's cascade
-- (src/store/jobs.rs: cascade) done for all of them at once, in one statement.
-- psql variable: acct.
WITH c AS (
  UPDATE customers SET state = 'deleted', deleting_at = now(), deleted_at = now()
   WHERE account = :'acct' AND state = 'active'
  RETURNING id
), s AS (
  UPDATE subscriptions SET deleted_at = now()
   WHERE account = :'acct' AND deleted_at IS NULL AND customer_id IN (SELECT id FROM c)
  RETURNING 1
), i AS (
  UPDATE invoices SET deleted_at = now()
   WHERE account = :'acct' AND deleted_at IS NULL AND customer_id IN (SELECT id FROM c)
  RETURNING 1
)
SELECT (SELECT COUNT(*) FROM c) AS customers, (SELECT COUNT(*) FROM s) AS subscriptions,
       (SELECT COUNT(*) FROM i) AS invoices;
