-- pgbench's half of the DELETE limit: the transaction orb-mock runs for
-- DELETE /customers/{id} on PostgreSQL (src/store/customers.rs: delete_customer, lock_customer),
-- on a database orb-mock created (so with its trigger),
-- statement for statement, with the same row lock. Each client deletes distinct customers:
-- entry k = :from + :client_id + :clients * i of the same permutation bench/wrk/delete.lua walks.
-- Variables from run.sh (-D): acct, prefix, n, from, clients, i=0. Run with -M prepared (sqlx
-- prepares its statements too).
\set k :from + :client_id + :clients * :i
\set i :i + 1
\set num (:k * 1000003) % :n
BEGIN;
SELECT pk, id, external_customer_id, name, email, currency, timezone, metadata, balance, state,
       created_at
  FROM customers WHERE account = :acct AND id = :prefix || :num AND state <> 'deleted' FOR UPDATE;
SELECT (SELECT COUNT(*) FROM invoices WHERE account = :acct AND customer_id = :prefix || :num
   AND deleted_at IS NULL AND status IN ('issued', 'paid', 'synced')),
       (SELECT deletion_delay_ms FROM account_settings WHERE account = :acct);
-- The schema's trigger marks the customer deleting as its job is queued, as for orb-mock.
INSERT INTO deletions (account, customer_id, state, due_at, created_at)
VALUES (:acct, :prefix || :num, 'pending', now() + interval '1 hour', now());
COMMIT;
