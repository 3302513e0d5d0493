//! Customer hierarchies (README, "Emulated routes", customers): a parent and its children, as
//! Orb's `hierarchy` on create and edit asks for them. Orb's rules: a parent must not be a
//! child of another customer, and a child must not already be part of another hierarchy, so a
//! hierarchy is one level deep and has no cycle. Both sides of a link keep the other
//! ([`Hierarchy`]), written in the transaction of the change; the customers linked to are
//! locked and must be active and in the same account.
//!
//! A deletion's cascade unlinks the customer: its children have no parent any more, and it
//! leaves its parent's children. Until the cascade, a deleting customer stays linked.

use super::backend::{on_tx, RowLock, Tx};
use super::customers::lock_customer;
use super::model::{Customer, CustomerState, HierarchyChange, Linked};
use super::{CustomerRef, StoreError, StoreResult};

const PARENT: &str = "hierarchy.parent_customer_id";
const CHILDREN: &str = "hierarchy.child_customer_ids";

fn linked(customer: &Customer) -> Linked {
    Linked {
        id: customer.id.clone(),
        external_customer_id: customer.external_customer_id.clone(),
    }
}

/// The other customers a change touches, each read (and locked) once.
#[derive(Default)]
pub(crate) struct Others(Vec<Customer>);

impl Others {
    /// The customer `id`, locked; `None` unless it exists in the account, is not fully
    /// deleted, and (with `active`) is not being deleted.
    async fn get(
        &mut self,
        tx: &mut Tx,
        account: &str,
        id: &str,
        active: bool,
    ) -> StoreResult<Option<&mut Customer>> {
        if let Some(at) = self.0.iter().position(|c| c.id == id) {
            return Ok(Some(&mut self.0[at]));
        }
        let by = CustomerRef::Id(id.to_owned());
        let Some(customer) = lock_customer(tx, account, &by, RowLock::Update).await? else {
            return Ok(None);
        };
        if active && customer.state != CustomerState::Active {
            return Ok(None);
        }
        self.0.push(customer);
        Ok(self.0.last_mut())
    }

    /// Writes every touched customer's hierarchy.
    pub(crate) async fn save(self, tx: &mut Tx, account: &str) -> StoreResult<()> {
        for customer in self.0 {
            on_tx!(&mut *tx, |c| {
                sqlx::query("UPDATE customers SET profile = $3 WHERE account = $1 AND id = $2")
                    .bind(account)
                    .bind(&customer.id)
                    .bind(sqlx::types::Json(&customer.profile))
                    .execute(c)
                    .await?
                    .rows_affected()
            });
        }
        Ok(())
    }
}

/// Applies `change` to `customer` (which may not be inserted yet) and to the customers it
/// links to, or refuses it naming the field. Returns the others, to be saved once `customer`
/// is written.
pub(crate) async fn link(
    tx: &mut Tx,
    account: &str,
    customer: &mut Customer,
    change: &HierarchyChange,
) -> StoreResult<Others> {
    let me = linked(customer);
    let mut others = Others::default();
    let mut problems = Vec::new();
    if let Some(parent) = &change.parent {
        let current = customer.profile.hierarchy.parent.clone();
        match parent {
            Some(id) if *id == customer.id => {
                problems.push(format!("{PARENT}: a customer cannot be its own parent"));
            }
            Some(id) if current.as_ref().is_some_and(|c| c.id == *id) => {}
            Some(_) if !customer.profile.hierarchy.children.is_empty() => {
                problems.push(format!(
                    "{PARENT}: customer {} has children, and a parent must not be a child of \
                     another customer (hierarchies are one level deep)",
                    customer.id
                ));
            }
            Some(id) => {
                let verdict = match others.get(tx, account, id, true).await? {
                    None => Err(format!(
                        "{PARENT}: no active customer {id:?} in this account"
                    )),
                    Some(parent) if parent.profile.hierarchy.parent.is_some() => Err(format!(
                        "{PARENT}: customer {id} is a child of another customer, and a parent \
                         must not be one"
                    )),
                    Some(parent) => {
                        parent.profile.hierarchy.children.push(me.clone());
                        Ok(linked(parent))
                    }
                };
                match verdict {
                    Err(problem) => problems.push(problem),
                    Ok(parent) => {
                        customer.profile.hierarchy.parent = Some(parent);
                        if let Some(old) = current {
                            leave(tx, account, &mut others, &old.id, &me.id).await?;
                        }
                    }
                }
            }
            None => {
                if let Some(old) = current {
                    leave(tx, account, &mut others, &old.id, &me.id).await?;
                    customer.profile.hierarchy.parent = None;
                }
            }
        }
    }
    let mut seen = Vec::new();
    for id in &change.children {
        if seen.contains(&id)
            || customer
                .profile
                .hierarchy
                .children
                .iter()
                .any(|c| c.id == *id)
        {
            continue;
        }
        seen.push(id);
        if *id == customer.id {
            problems.push(format!("{CHILDREN}: a customer cannot be its own child"));
            continue;
        }
        if customer.profile.hierarchy.parent.is_some() {
            problems.push(format!(
                "{CHILDREN}: customer {} has a parent, and a child cannot have children \
                 (hierarchies are one level deep)",
                customer.id
            ));
            break;
        }
        match others.get(tx, account, id, true).await? {
            None => problems.push(format!(
                "{CHILDREN}: no active customer {id:?} in this account"
            )),
            Some(child) if !child.profile.hierarchy.is_empty() => problems.push(format!(
                "{CHILDREN}: customer {id} is already part of another hierarchy"
            )),
            Some(child) => {
                child.profile.hierarchy.parent = Some(me.clone());
                customer.profile.hierarchy.children.push(linked(child));
            }
        }
    }
    match problems.is_empty() {
        true => Ok(others),
        false => Err(StoreError::Invalid(problems)),
    }
}

/// `child` leaves `parent`'s children.
async fn leave(
    tx: &mut Tx,
    account: &str,
    others: &mut Others,
    parent: &str,
    child: &str,
) -> StoreResult<()> {
    if let Some(parent) = others.get(tx, account, parent, false).await? {
        parent.profile.hierarchy.children.retain(|c| c.id != child);
    }
    Ok(())
}

/// After `customer`'s external id changed: the copies its linked customers keep.
pub(crate) async fn rename(
    tx: &mut Tx,
    account: &str,
    customer: &Customer,
    others: &mut Others,
) -> StoreResult<()> {
    let me = linked(customer);
    for id in customer
        .profile
        .hierarchy
        .linked()
        .map(|l| l.id.clone())
        .collect::<Vec<_>>()
    {
        if let Some(other) = others.get(tx, account, &id, false).await? {
            let hierarchy = &mut other.profile.hierarchy;
            for link in hierarchy
                .parent
                .iter_mut()
                .chain(hierarchy.children.iter_mut())
            {
                if link.id == me.id {
                    *link = me.clone();
                }
            }
        }
    }
    Ok(())
}

/// The cascade's part: the deleted customer's children have no parent any more, and it leaves
/// its parent's children.
pub(crate) async fn unlink(tx: &mut Tx, account: &str, customer_id: &str) -> StoreResult<()> {
    let by = CustomerRef::Id(customer_id.to_owned());
    let Some(customer) = lock_customer(tx, account, &by, RowLock::Update).await? else {
        return Ok(());
    };
    if customer.profile.hierarchy.is_empty() {
        return Ok(());
    }
    let mut others = Others::default();
    if let Some(parent) = &customer.profile.hierarchy.parent {
        leave(tx, account, &mut others, &parent.id, customer_id).await?;
    }
    for child in &customer.profile.hierarchy.children {
        if let Some(child) = others.get(tx, account, &child.id, false).await? {
            child.profile.hierarchy.parent = None;
        }
    }
    let mut unlinked = customer;
    unlinked.profile.hierarchy = Default::default();
    others.0.push(unlinked);
    others.save(tx, account).await
}
