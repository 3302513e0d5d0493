-- The cascade-drain limit on SQLite: the same soft deletes as bench/pg/cascade.sql, for every
-- customer at once. SQLite's UPDATE touches one table, so it is three statements in one
-- transaction. The store holds one account only, the benchmark's.
BEGIN;
UPDATE subscriptions SET deleted_at = CURRENT_TIMESTAMP
 WHERE deleted_at IS NULL
   AND customer_id IN (SELECT id FROM customers WHERE state = 'active');
UPDATE invoices SET deleted_at = CURRENT_TIMESTAMP
 WHERE deleted_at IS NULL
   AND customer_id IN (SELECT id FROM customers WHERE state = 'active');
UPDATE customers SET state = 'deleted', deleting_at = CURRENT_TIMESTAMP,
       deleted_at = CURRENT_TIMESTAMP
 WHERE state = 'active';
COMMIT;
