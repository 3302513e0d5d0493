//! What the control surface and idempotency keep in the store: idempotency keys (README, "Idempotency"),
//! per-account settings, and wiping an account (README, "Control surface").

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backend::{on_reader, on_tx, RowLock};
use super::{Store, StoreResult};

/// How long an idempotency key is remembered (README, "Idempotency").
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(48 * 3600);

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new (or expired, or abandoned by a crashed request): run the request, then
    /// [`Store::finish_idempotency_key`] or [`Store::release_idempotency_key`].
    Execute,
    /// The same request already ran: answer with its stored response.
    Replay { status: u16, body: Vec<u8> },
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key has not finished.
    InFlight,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    fingerprint: String,
    status: Option<i32>,
    body: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
}

/// An account's overrides of the server's flags; `None` means the server's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSettings {
    pub deletion_delay: Option<Duration>,
}

impl Store {
    /// Claims `key` for a request with `fingerprint`. A stored key older than the TTL counts as
    /// new; an in-flight key older than `abandoned_after` belongs to a request that can no
    /// longer finish (it outlived the request timeout, or its process died) and is taken over.
    pub async fn claim_idempotency_key(
        &self,
        account: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        abandoned_after: Duration,
    ) -> StoreResult<KeyClaim> {
        let mut tx = self.begin().await?;
        let inserted = on_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO idempotency_keys (account, key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (account, key) DO NOTHING",
            )
            .bind(account)
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            tx.commit().await?;
            return Ok(KeyClaim::Execute);
        }
        let sql = tx.locking(
            "SELECT fingerprint, status, body, created_at FROM idempotency_keys \
             WHERE account = $1 AND key = $2",
            RowLock::Update,
        );
        let row = on_tx!(&mut tx, |c| {
            sqlx::query_as::<_, KeyRow>(&sql)
                .bind(account)
                .bind(key)
                .fetch_one(c)
                .await?
        });
        let age = (now - row.created_at).to_std().unwrap_or_default();
        let expired = age >= IDEMPOTENCY_TTL;
        let abandoned = row.status.is_none() && age >= abandoned_after;
        let claim = if expired || (abandoned && row.fingerprint == fingerprint) {
            on_tx!(&mut tx, |c| {
                sqlx::query(
                    "UPDATE idempotency_keys SET fingerprint = $3, status = NULL, body = NULL, \
                     created_at = $4 WHERE account = $1 AND key = $2",
                )
                .bind(account)
                .bind(key)
                .bind(fingerprint)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
            });
            KeyClaim::Execute
        } else if row.fingerprint != fingerprint {
            KeyClaim::Mismatch
        } else {
            match (row.status, row.body) {
                (Some(status), body) => KeyClaim::Replay {
                    status: u16::try_from(status).unwrap_or(500),
                    body: body.unwrap_or_default(),
                },
                (None, _) => KeyClaim::InFlight,
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Stores the answer to the request that claimed `key`.
    pub async fn finish_idempotency_key(
        &self,
        account: &str,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $3, body = $4 \
                 WHERE account = $1 AND key = $2 AND status IS NULL",
            )
            .bind(account)
            .bind(key)
            .bind(i32::from(status))
            .bind(body)
            .execute(c)
            .await?
            .rows_affected()
        });
        tx.commit_regardless().await
    }

    /// Forgets a claimed key whose request did not finish (it failed with a 5xx, timed out or
    /// was cancelled), so that a retry runs the request again.
    pub async fn release_idempotency_key(&self, account: &str, key: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE account = $1 AND key = $2 \
                 AND status IS NULL",
            )
            .bind(account)
            .bind(key)
            .execute(c)
            .await?
            .rows_affected()
        });
        tx.commit_regardless().await
    }

    /// Deletes every idempotency key older than the TTL. Returns how many went.
    pub async fn sweep_idempotency_keys(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let ttl = chrono::Duration::from_std(IDEMPOTENCY_TTL).unwrap_or(chrono::Duration::MAX);
        let mut tx = self.begin().await?;
        let swept = on_tx!(&mut tx, |c| {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(now - ttl)
                .execute(c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(swept)
    }

    /// How many idempotency keys an account has stored (for tests and the sweep's log line).
    pub async fn idempotency_key_count(&self, account: &str) -> StoreResult<i64> {
        let count = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM idempotency_keys WHERE account = $1")
                .bind(account)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    pub async fn account_settings(&self, account: &str) -> StoreResult<AccountSettings> {
        let delay = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT deletion_delay_ms FROM account_settings WHERE account = $1",
            )
            .bind(account)
            .fetch_optional(pool)
            .await?
        });
        Ok(AccountSettings {
            deletion_delay: delay.flatten().map(millis_to_duration),
        })
    }

    pub async fn set_account_settings(
        &self,
        account: &str,
        settings: &AccountSettings,
    ) -> StoreResult<()> {
        let delay = settings
            .deletion_delay
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO account_settings (account, deletion_delay_ms) VALUES ($1, $2) \
                 ON CONFLICT (account) DO UPDATE SET deletion_delay_ms = $2",
            )
            .bind(account)
            .bind(delay)
            .execute(c)
            .await?
            .rows_affected()
        });
        tx.commit().await
    }

    /// Deletes everything an account owns in the store: resources, jobs, keys, settings.
    /// Other accounts are untouched. A cascade of this account running right now holds the
    /// job's row (PostgreSQL) or the writer (SQLite), so the wipe waits for it.
    pub async fn reset_account(&self, account: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for table in [
            "webhook_attempts",
            "webhook_deliveries",
            "webhook_events",
            "webhook_endpoints",
            "deletions",
            "subscription_changes",
            "invoices",
            "subscriptions",
            "customers",
            "idempotency_keys",
            "account_settings",
            "fixture_loads",
            "account_clocks",
        ] {
            let sql = format!("DELETE FROM {table} WHERE account = $1");
            on_tx!(&mut tx, |c| {
                sqlx::query(&sql)
                    .bind(account)
                    .execute(c)
                    .await?
                    .rows_affected()
            });
        }
        self.announce_clock(&mut tx, account).await?;
        let committed = tx.commit().await;
        self.forget_configured(account);
        self.forget_clock(Some(account));
        committed
    }
}

/// Milliseconds as stored (never negative) to a duration.
pub(crate) fn millis_to_duration(millis: i64) -> Duration {
    Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}
