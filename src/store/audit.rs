//! A check of the deletion invariants (README, "Deleting a customer") over the whole store, for tests and reliability drills: after
//! any interleaving of requests, crashes and restarts, this should find nothing.

use super::backend::on_reader;
use super::deletion::blocking_invoice_statuses;
use super::{Store, StoreResult};

/// Each query returns one row per violation, described in words.
const CHECKS: [(&str, &str); 4] = [
    (
        "a deleting or deleted customer owns an issued, paid or synced invoice",
        concat!(
            "SELECT c.id FROM customers c JOIN invoices i ON i.account = c.account \
             AND i.customer_id = c.id WHERE c.state <> 'active' AND i.status IN ",
            blocking_invoice_statuses!()
        ),
    ),
    (
        "a deleted customer still has a visible subscription or invoice",
        "SELECT c.id FROM customers c WHERE c.state = 'deleted' AND (\
         EXISTS (SELECT 1 FROM subscriptions s WHERE s.account = c.account \
                 AND s.customer_id = c.id AND s.deleted_at IS NULL) OR \
         EXISTS (SELECT 1 FROM invoices i WHERE i.account = c.account \
                 AND i.customer_id = c.id AND i.deleted_at IS NULL))",
    ),
    (
        "a deleting or deleted customer has no deletion, or more than one",
        "SELECT c.id FROM customers c WHERE c.state <> 'active' AND (SELECT COUNT(*) \
         FROM deletions d WHERE d.account = c.account AND d.customer_id = c.id) <> 1",
    ),
    (
        "a completed deletion's customer is not deleted, or a pending one's is not deleting",
        "SELECT d.customer_id FROM deletions d JOIN customers c ON c.account = d.account \
         AND c.id = d.customer_id WHERE (d.state = 'completed' AND c.state <> 'deleted') \
         OR (d.state = 'pending' AND c.state <> 'deleting')",
    ),
];

impl Store {
    /// Every violation of the deletion invariants, as `"<rule>: <customer id>"`; empty when the
    /// store is consistent.
    pub async fn invariant_violations(&self) -> StoreResult<Vec<String>> {
        let mut violations = Vec::new();
        for (rule, sql) in CHECKS {
            let ids: Vec<String> = on_reader!(self, |pool| {
                sqlx::query_scalar(sql).fetch_all(pool).await?
            });
            violations.extend(ids.into_iter().map(|id| format!("{rule}: {id}")));
        }
        Ok(violations)
    }
}
