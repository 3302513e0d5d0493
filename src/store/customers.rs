//! Customers: create, read, list and edit, and the row lock every write on a customer takes
//! (deleting one is [`super::deletion`]).

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::backend::{on_reader, on_tx, RowLock, Tx};
use super::model::{
    AccountingSync, Address, Customer, CustomerProfile, CustomerState, HierarchyChange, Metadata,
    PaymentSettings, TaxId, TaxSettings,
};
use super::rows::{page_of, CustomerRow, Page, PageRequest, CUSTOMER_COLUMNS};
use super::webhooks::{bind_event, Emission, NewEvent};
use super::{is_unique_violation, new_id, CustomerRef, Store, StoreError, StoreResult};

/// What `POST /customers` asks for, already validated.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// Caller-chosen id (fixtures); `None` draws a fresh one.
    pub id: Option<String>,
    pub name: String,
    pub email: String,
    pub external_customer_id: Option<String>,
    pub currency: Option<String>,
    pub timezone: Option<String>,
    pub metadata: Metadata,
    pub profile: CustomerProfile,
    /// Its parent or children ([`super::hierarchy`]); the profile's hierarchy is derived.
    pub hierarchy: Option<HierarchyChange>,
}

/// An edit per Orb's rules: metadata merges (a `None` value removes the key).
#[derive(Debug, Clone, Default)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub metadata: Option<Vec<(String, Option<String>)>>,
    pub clear_metadata: bool,
    /// Set only if the customer has none (or has this one).
    pub currency: Option<String>,
    /// Set only if the customer has none (or has this one); unique like on creation.
    pub external_customer_id: Option<String>,
    /// `Some(None)` clears an address or the payment provider.
    pub billing_address: Option<Option<Address>>,
    pub shipping_address: Option<Option<Address>>,
    pub additional_emails: Option<Vec<String>>,
    pub auto_collection: Option<bool>,
    pub email_delivery: Option<bool>,
    pub payment_provider: Option<Option<String>>,
    pub payment_provider_id: Option<Option<String>>,
    /// `Some(None)` clears it, as for the four below.
    pub tax_id: Option<Option<TaxId>>,
    pub auto_issuance: Option<Option<bool>>,
    pub reporting_exempt: Option<Option<bool>>,
    pub accounting_sync: Option<Option<AccountingSync>>,
    pub tax: Option<Option<TaxSettings>>,
    pub payment: Option<Option<Vec<PaymentSettings>>>,
    pub hierarchy: Option<HierarchyChange>,
}

/// Keyset filter for `GET /customers`, newest first.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub page: PageRequest,
    pub created_gte: Option<DateTime<Utc>>,
    pub created_gt: Option<DateTime<Utc>>,
    pub created_lt: Option<DateTime<Utc>>,
    pub created_lte: Option<DateTime<Utc>>,
}

const KIND: &str = "Customer";

impl Store {
    /// Creates a customer, with its `customer.created` event. It joins the concurrent writes
    /// of customers in one transaction ([`write_customers`]); one that the batch leaves out,
    /// or the first write of an account that `--webhook-url` has not reached yet, runs in a
    /// transaction of its own.
    ///
    /// [`write_customers`]: super::group::write_customers
    pub async fn create_customer(
        &self,
        account: &str,
        new: NewCustomer,
        now: DateTime<Utc>,
    ) -> StoreResult<Customer> {
        let write = CustomerWrite::Create {
            account: account.to_owned(),
            new,
            now,
        };
        self.write_customer(write).await
    }

    /// A customer that is active or being deleted; `None` once fully deleted or never seen.
    pub async fn customer(&self, account: &str, by: &CustomerRef) -> StoreResult<Option<Customer>> {
        if let (Some(batches), CustomerRef::Id(id)) = (self.batches(), by) {
            if let Some(answer) = batches.customer(account, id).await {
                return answer;
            }
        }
        let (column, value) = ref_column(by);
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers \
             WHERE account = $1 AND {column} = $2 AND state <> 'deleted'"
        );
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, CustomerRow>(&sql)
                .bind(account)
                .bind(value)
                .fetch_optional(pool)
                .await?
        });
        row.map(CustomerRow::into_domain).transpose()
    }

    pub async fn list_customers(
        &self,
        account: &str,
        filter: &CustomerFilter,
    ) -> StoreResult<Page<Customer>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers \
             WHERE account = $1 AND state <> 'deleted' \
               AND ($2 IS NULL OR pk < $2) \
               AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at > $4) \
               AND ($5 IS NULL OR created_at < $5) AND ($6 IS NULL OR created_at <= $6) \
             ORDER BY pk DESC LIMIT $7"
        );
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<_, CustomerRow>(&sql)
                .bind(account)
                .bind(filter.page.before)
                .bind(filter.created_gte)
                .bind(filter.created_gt)
                .bind(filter.created_lt)
                .bind(filter.created_lte)
                .bind(filter.page.limit + 1)
                .fetch_all(pool)
                .await?
        });
        page_of(rows, filter.page, |row| row.pk, CustomerRow::into_domain)
    }

    /// Applies an edit to an active customer, with its `customer.edited` event when it
    /// changed something; batched as [`Store::create_customer`] is.
    pub async fn update_customer(
        &self,
        account: &str,
        by: &CustomerRef,
        patch: CustomerPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Customer> {
        let write = CustomerWrite::Edit {
            account: account.to_owned(),
            by: by.clone(),
            patch,
            now,
        };
        self.write_customer(write).await
    }

    async fn write_customer(&self, write: CustomerWrite) -> StoreResult<Customer> {
        let account = write.account().to_owned();
        let alone = super::backend::is_dry_run()
            || write.touches_others()
            || !self.reaches_configured_endpoint(&account);
        let batched = match alone {
            false => self.writes.write(write.clone()).await,
            true => None,
        };
        let customer = match batched {
            Some(answer) => answer?,
            None => {
                let mut tx = self.begin().await?;
                self.ensure_configured_endpoint(&mut tx, &account, write.now())
                    .await?;
                let customer = write.run(&mut tx).await?;
                tx.commit().await?;
                customer
            }
        };
        self.queued_deliveries(usize::from(self.may_have_endpoints(&account)));
        Ok(customer)
    }
}

/// A write of one customer, with its event: the same work whether it runs in a transaction of
/// its own or joins a batch ([`write_customers`](super::group::write_customers)).
#[derive(Debug, Clone)]
pub(crate) enum CustomerWrite {
    Create {
        account: String,
        new: NewCustomer,
        now: DateTime<Utc>,
    },
    Edit {
        account: String,
        by: CustomerRef,
        patch: CustomerPatch,
        now: DateTime<Utc>,
    },
}

impl CustomerWrite {
    pub(crate) fn account(&self) -> &str {
        match self {
            CustomerWrite::Create { account, .. } | CustomerWrite::Edit { account, .. } => account,
        }
    }

    /// Whether the write changes other customers' rows too (a hierarchy's links): it then
    /// runs in a transaction of its own, never in a group, whose rows it could wait for.
    fn touches_others(&self) -> bool {
        match self {
            CustomerWrite::Create { new, .. } => new.hierarchy.is_some(),
            CustomerWrite::Edit { patch, .. } => {
                patch.hierarchy.is_some() || patch.external_customer_id.is_some()
            }
        }
    }

    fn now(&self) -> DateTime<Utc> {
        match self {
            CustomerWrite::Create { now, .. } | CustomerWrite::Edit { now, .. } => *now,
        }
    }

    /// Runs the write inside `tx`. A failure other than [`StoreError::Database`] has written
    /// nothing: the checks come first, and the one writing statement (the change and its
    /// event, one hand-off) is atomic, so a taken unique key leaves no trace.
    pub(crate) async fn run(self, tx: &mut Tx) -> StoreResult<Customer> {
        match self {
            CustomerWrite::Create {
                account,
                mut new,
                now,
            } => {
                // The event's snapshot is the customer as it will be inserted; it is written
                // by the insert's own statement (one round trip, not two, on this hot path).
                let id = new.id.clone().unwrap_or_else(new_id);
                let others = link_new(tx, &account, &id, &mut new, now).await?;
                let customer = new_customer(&id, &new, now);
                let emission = Emission::new(&account, NewEvent::customer_created(&customer), now);
                let inserted =
                    insert_customer_as(tx, &account, &id, new, now, Some(&emission)).await?;
                debug_assert_eq!(
                    inserted, customer,
                    "the event's snapshot is the inserted row"
                );
                others.save(tx, &account).await?;
                Ok(inserted)
            }
            CustomerWrite::Edit {
                account,
                by,
                patch,
                now,
            } => edit_customer(tx, &account, &by, patch, now).await,
        }
    }
}

/// Reads, merges and writes an edit inside `tx` (see [`CustomerWrite::run`]).
async fn edit_customer(
    tx: &mut Tx,
    account: &str,
    by: &CustomerRef,
    patch: CustomerPatch,
    now: DateTime<Utc>,
) -> StoreResult<Customer> {
    let mut customer = live_customer(tx, account, by, RowLock::Update).await?;
    let before = customer.clone();
    let mut others = match &patch.hierarchy {
        Some(change) => super::hierarchy::link(tx, account, &mut customer, change).await?,
        None => Default::default(),
    };
    if let Some(name) = patch.name {
        customer.name = name;
    }
    if let Some(email) = patch.email {
        customer.email = email;
    }
    customer.currency = set_once(customer.currency, patch.currency, "currency")?;
    customer.external_customer_id = set_once(
        customer.external_customer_id,
        patch.external_customer_id,
        "external_customer_id",
    )?;
    if patch.clear_metadata {
        customer.metadata.clear();
    }
    let profile = &mut customer.profile;
    if let Some(address) = patch.billing_address {
        profile.billing_address = address;
    }
    if let Some(address) = patch.shipping_address {
        profile.shipping_address = address;
    }
    if let Some(emails) = patch.additional_emails {
        profile.additional_emails = emails;
    }
    if let Some(auto_collection) = patch.auto_collection {
        profile.auto_collection = auto_collection;
    }
    if let Some(email_delivery) = patch.email_delivery {
        profile.email_delivery = email_delivery;
    }
    if let Some(provider) = patch.payment_provider {
        profile.payment_provider = provider;
    }
    if let Some(provider_id) = patch.payment_provider_id {
        profile.payment_provider_id = provider_id;
    }
    if let Some(tax_id) = patch.tax_id {
        profile.tax_id = tax_id;
    }
    if let Some(auto_issuance) = patch.auto_issuance {
        profile.auto_issuance = auto_issuance;
    }
    if let Some(exempt) = patch.reporting_exempt {
        profile.reporting_exempt = exempt;
    }
    if let Some(sync) = patch.accounting_sync {
        profile.accounting_sync = sync;
    }
    if let Some(tax) = patch.tax {
        profile.tax = tax;
    }
    if let Some(payment) = patch.payment {
        profile.payment = payment;
    }
    for (key, value) in patch.metadata.into_iter().flatten() {
        match value {
            Some(value) => customer.metadata.insert(key, value),
            None => customer.metadata.remove(&key),
        };
    }
    // Orb announces an edit that changed something, with the old values; its event is
    // written by the update's own statement (one round trip on this hot path).
    if customer == before {
        return Ok(customer);
    }
    if customer.external_customer_id != before.external_customer_id {
        super::hierarchy::rename(tx, account, &customer, &mut others).await?;
    }
    let emission = Emission::new(account, NewEvent::customer_edited(&before, &customer), now);
    let sql = tx.with_event(
        "UPDATE customers SET name = $3, email = $4, metadata = $5, currency = $6, \
         external_customer_id = $7, profile = $8 WHERE account = $1 AND id = $2 \
         RETURNING pk",
        9,
    );
    let updated = on_tx!(tx, |c| {
        bind_event!(
            sqlx::query_scalar::<_, i64>(&sql)
                .bind(account)
                .bind(&customer.id)
                .bind(&customer.name)
                .bind(&customer.email)
                .bind(Json(&customer.metadata))
                .bind(&customer.currency)
                .bind(&customer.external_customer_id)
                .bind(Json(&customer.profile)),
            emission
        )
        .fetch_all(c)
        .await
    });
    match updated {
        Err(err) if is_unique_violation(&err) => Err(StoreError::Duplicate(format!(
            "A customer with external_customer_id {:?} already exists",
            customer.external_customer_id.unwrap_or_default()
        ))),
        other => {
            other?;
            others.save(tx, account).await?;
            Ok(customer)
        }
    }
}

/// Orb's rule for `currency` and `external_customer_id` on edit: they can be set when unset,
/// and giving the value already there is a no-op; changing one is refused.
fn set_once(
    current: Option<String>,
    given: Option<String>,
    field: &str,
) -> StoreResult<Option<String>> {
    match (current, given) {
        (current, None) => Ok(current),
        (None, Some(given)) => Ok(Some(given)),
        (Some(current), Some(given)) if current == given => Ok(Some(current)),
        (Some(current), Some(given)) => Err(StoreError::Constraint(format!(
            "{field} is already {current:?} and cannot be changed to {given:?}; \
             it can only be set when it is not set yet."
        ))),
    }
}

/// Inserts a customer in a write transaction (creation and fixtures).
pub(crate) async fn insert_customer(
    tx: &mut Tx,
    account: &str,
    new: NewCustomer,
    now: DateTime<Utc>,
) -> StoreResult<Customer> {
    let mut new = new;
    let id = new.id.clone().unwrap_or_else(new_id);
    let others = link_new(tx, account, &id, &mut new, now).await?;
    let inserted = insert_customer_as(tx, account, &id, new, now, None).await?;
    others.save(tx, account).await?;
    Ok(inserted)
}

/// Links a customer about to be inserted with id `id` as its `hierarchy` asks, setting its
/// profile's hierarchy; returns the other customers to save once it is inserted.
async fn link_new(
    tx: &mut Tx,
    account: &str,
    id: &str,
    new: &mut NewCustomer,
    now: DateTime<Utc>,
) -> StoreResult<super::hierarchy::Others> {
    let Some(change) = new.hierarchy.take() else {
        return Ok(Default::default());
    };
    let mut customer = new_customer(id, new, now);
    let others = super::hierarchy::link(tx, account, &mut customer, &change).await?;
    new.profile.hierarchy = customer.profile.hierarchy;
    Ok(others)
}

/// The zone a customer has when created without one.
const DEFAULT_TIMEZONE: &str = "Etc/UTC";

/// The customer a creation makes, before it is inserted.
fn new_customer(id: &str, new: &NewCustomer, now: DateTime<Utc>) -> Customer {
    Customer {
        id: id.to_owned(),
        external_customer_id: new.external_customer_id.clone(),
        name: new.name.clone(),
        email: new.email.clone(),
        currency: new.currency.clone(),
        timezone: new
            .timezone
            .clone()
            .unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned()),
        metadata: new.metadata.clone(),
        balance: rust_decimal::Decimal::ZERO,
        created_at: now,
        state: CustomerState::Active,
        profile: new.profile.clone(),
    }
}

/// Inserts a customer with the id `id`, and with it, in the same round trip, the event of
/// `emission` if given.
async fn insert_customer_as(
    tx: &mut Tx,
    account: &str,
    id: &str,
    new: NewCustomer,
    now: DateTime<Utc>,
    emission: Option<&super::webhooks::Emission>,
) -> StoreResult<Customer> {
    if new.id.is_some() {
        refuse_taken_id(tx, "customers", KIND, account, id).await?;
    }
    let insert = format!(
        "INSERT INTO customers (account, id, external_customer_id, name, email, currency, \
         timezone, metadata, balance, state, created_at, profile) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '0.00', 'active', $9, $10) \
         RETURNING {CUSTOMER_COLUMNS}"
    );
    let sql = match emission {
        Some(_) => tx.with_event(&insert, 11),
        None => insert,
    };
    let inserted = on_tx!(tx, |c| {
        let query = sqlx::query_as::<_, CustomerRow>(&sql)
            .bind(account)
            .bind(id)
            .bind(&new.external_customer_id)
            .bind(&new.name)
            .bind(&new.email)
            .bind(&new.currency)
            .bind(new.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE))
            .bind(Json(&new.metadata))
            .bind(now)
            .bind(Json(&new.profile));
        match emission {
            Some(emission) => bind_event!(query, emission)
                .fetch_all(c)
                .await
                .and_then(|rows| rows.into_iter().next().ok_or(sqlx::Error::RowNotFound)),
            None => query.fetch_one(c).await,
        }
    });
    match inserted {
        Err(err) if is_unique_violation(&err) => {
            Err(StoreError::Duplicate(match &new.external_customer_id {
                Some(external) => {
                    format!("A customer with external_customer_id {external:?} already exists")
                }
                None => format!("A customer with id {id:?} already exists"),
            }))
        }
        other => other?.into_domain(),
    }
}

/// Refuses a caller-chosen id (fixtures) that the account already uses for a `table` row.
pub(crate) async fn refuse_taken_id(
    tx: &mut Tx,
    table: &str,
    kind: &str,
    account: &str,
    id: &str,
) -> StoreResult<()> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE account = $1 AND id = $2");
    let taken: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar(&sql)
            .bind(account)
            .bind(id)
            .fetch_one(c)
            .await?
    });
    if taken > 0 {
        return Err(StoreError::Duplicate(format!(
            "A {kind} with id {id:?} already exists"
        )));
    }
    Ok(())
}

fn ref_column(by: &CustomerRef) -> (&'static str, &str) {
    match by {
        CustomerRef::Id(id) => ("id", id),
        CustomerRef::External(external) => ("external_customer_id", external),
    }
}

/// A body that names its customer by `customer_id` and also gives `external_customer_id` is
/// accepted when both name the same customer, and refused naming both fields otherwise.
pub(crate) fn same_customer(customer: &Customer, external: Option<&str>) -> StoreResult<()> {
    match external {
        Some(external) if customer.external_customer_id.as_deref() != Some(external) => {
            let held = match &customer.external_customer_id {
                Some(held) => format!("has external_customer_id {held:?}"),
                None => "has no external_customer_id".to_owned(),
            };
            Err(StoreError::Invalid(vec![
                format!("customer_id: customer {} {held}", customer.id),
                format!(
                    "external_customer_id: {external:?} does not name the customer that \
                     customer_id names"
                ),
            ]))
        }
        _ => Ok(()),
    }
}

/// Reads a not-fully-deleted customer inside a write transaction, holding `lock` on its row.
pub(crate) async fn lock_customer(
    tx: &mut Tx,
    account: &str,
    by: &CustomerRef,
    lock: RowLock,
) -> StoreResult<Option<Customer>> {
    let (column, value) = ref_column(by);
    let sql = tx.locking(
        &format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers \
             WHERE account = $1 AND {column} = $2 AND state <> 'deleted'"
        ),
        lock,
    );
    let row = on_tx!(tx, |c| {
        sqlx::query_as::<_, CustomerRow>(&sql)
            .bind(account)
            .bind(value)
            .fetch_optional(c)
            .await?
    });
    row.map(CustomerRow::into_domain).transpose()
}

/// The customer a write acts on, which must exist and not be deleting (README, "Deleting a
/// customer"). The row lock
/// serialises the write against a concurrent `DELETE`.
pub(crate) async fn live_customer(
    tx: &mut Tx,
    account: &str,
    by: &CustomerRef,
    lock: RowLock,
) -> StoreResult<Customer> {
    let customer = lock_customer(tx, account, by, lock).await?.ok_or_else(|| {
        let (_, value) = ref_column(by);
        StoreError::not_found(KIND, value)
    })?;
    refuse_if_deleting(&customer)?;
    Ok(customer)
}

pub(crate) fn refuse_if_deleting(customer: &Customer) -> StoreResult<()> {
    if customer.state == CustomerState::Deleting {
        return Err(StoreError::Constraint(format!(
            "Customer {} is being deleted; it and the resources it owns cannot be changed.",
            customer.id
        )));
    }
    Ok(())
}
