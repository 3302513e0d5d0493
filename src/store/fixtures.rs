//! Loading a fixtures document (README, "Control surface"): customers, invoices and subscriptions with
//! caller-chosen ids, all in one transaction, so that a document with one bad entry loads
//! nothing.

use chrono::{DateTime, Utc};

use super::backend::on_tx;
use super::customers::insert_customer;
use super::invoices::insert_invoice;
use super::subscriptions::insert_subscription;
use super::{NewCustomer, NewInvoice, NewSubscription, Store, StoreError};

/// A validated fixtures document for one account.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    pub customers: Vec<NewCustomer>,
    pub invoices: Vec<NewInvoice>,
    pub subscriptions: Vec<NewSubscription>,
}

/// The ids of what was loaded, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Loaded {
    pub customers: Vec<String>,
    pub invoices: Vec<String>,
    pub subscriptions: Vec<String>,
}

/// The entry that could not be loaded (`invoices[2]`), and why. Nothing was loaded.
#[derive(Debug, thiserror::Error)]
#[error("{entry}: {source}")]
pub struct FixtureError {
    pub entry: String,
    pub source: StoreError,
}

impl Store {
    /// Loads `fixtures` into `account`, customers first, or nothing at all. With `once`, a
    /// digest of the document: a document already loaded with that digest is skipped
    /// (`None` returned), and the digest is recorded in the same transaction.
    pub async fn load_fixtures(
        &self,
        account: &str,
        fixtures: Fixtures,
        now: DateTime<Utc>,
        once: Option<&str>,
    ) -> Result<Option<Loaded>, FixtureError> {
        let whole = |source| FixtureError {
            entry: "fixtures".to_owned(),
            source,
        };
        let mut tx = self.begin().await.map_err(whole)?;
        tx.for_bulk_load().await.map_err(whole)?;
        if let Some(digest) = once {
            let recorded = on_tx!(&mut tx, |c| {
                sqlx::query(
                    "INSERT INTO fixture_loads (account, digest, loaded_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account, digest) DO NOTHING",
                )
                .bind(account)
                .bind(digest)
                .bind(now)
                .execute(c)
                .await
                .map_err(|err| whole(err.into()))?
                .rows_affected()
            });
            if recorded == 0 {
                tx.rollback().await;
                return Ok(None);
            }
        }
        let mut loaded = Loaded::default();
        let mut failure = None;
        for (i, new) in fixtures.customers.into_iter().enumerate() {
            match insert_customer(&mut tx, account, new, now).await {
                Ok(customer) => loaded.customers.push(customer.id),
                Err(source) => {
                    failure = Some((format!("customers[{i}]"), source));
                    break;
                }
            }
        }
        if failure.is_none() {
            for (i, new) in fixtures.invoices.into_iter().enumerate() {
                match insert_invoice(&mut tx, account, new, now).await {
                    Ok(invoice) => loaded.invoices.push(invoice.id),
                    Err(source) => {
                        failure = Some((format!("invoices[{i}]"), source));
                        break;
                    }
                }
            }
        }
        if failure.is_none() {
            for (i, new) in fixtures.subscriptions.into_iter().enumerate() {
                match insert_subscription(&mut tx, account, new, now).await {
                    Ok((subscription, _)) => loaded.subscriptions.push(subscription.id),
                    Err(source) => {
                        failure = Some((format!("subscriptions[{i}]"), source));
                        break;
                    }
                }
            }
        }
        match failure {
            Some((entry, source)) => {
                tx.rollback().await;
                Err(FixtureError { entry, source })
            }
            None => {
                tx.commit().await.map_err(whole)?;
                Ok(Some(loaded))
            }
        }
    }
}
