//! A clock per account (README, "Moving time"). An account's time is the real time plus an
//! offset that only grows, or a frozen instant. Everything timed in the account follows it:
//! the `now` each request passes to the store, and the due times of its account-time queues
//! (deletions, subscription starts and ends; [`super::queue`]). Webhook deliveries and their
//! signatures stay on the real clock.
//!
//! The clock is stored (`account_clocks`, no row meaning real time), so it survives a restart
//! and is shared by every process on one PostgreSQL. Each process caches what it read: a
//! request pays one map look-up. A move updates the mover's cache at once and, on PostgreSQL,
//! tells the other processes (`NOTIFY`) to drop theirs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use super::backend::{on_reader, on_tx, RowLock};
use super::{Store, StoreError, StoreResult};

/// The channel on which PostgreSQL processes hear of each other's moves.
pub const CLOCK_CHANNEL: &str = "orb_mock_clocks";

/// The furthest an account's clock can go.
const LATEST: &str = "9999-12-31T23:59:59Z";

/// One account's clock: real time moved by `offset`, or `frozen_at` while frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountClock {
    pub offset: chrono::Duration,
    pub frozen_at: Option<DateTime<Utc>>,
}

impl AccountClock {
    /// The account's time when the real (process) clock reads `real`.
    pub fn now(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        self.frozen_at.unwrap_or_else(|| {
            real.checked_add_signed(self.offset)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        })
    }

    /// Whether this is the real clock (never moved, or reset).
    pub fn is_real(&self) -> bool {
        self.offset.is_zero() && self.frozen_at.is_none()
    }
}

/// A move of an account's clock: forward only, then frozen or running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockMove {
    /// Forward by this much.
    pub advance: Option<chrono::Duration>,
    /// Forward to this instant.
    pub to: Option<DateTime<Utc>>,
    /// Stop (`true`) or restart (`false`) the clock; `None` leaves it as it is.
    pub freeze: Option<bool>,
}

impl ClockMove {
    /// The clock after this move, when the real clock reads `real`; a move backwards is
    /// refused, naming its field.
    pub fn apply(&self, clock: AccountClock, real: DateTime<Utc>) -> StoreResult<AccountClock> {
        let latest = DateTime::parse_from_rfc3339(LATEST)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let now = clock.now(real);
        let target = match (self.advance, self.to) {
            (Some(by), _) => match now.checked_add_signed(by).filter(|t| *t <= latest) {
                Some(target) => target,
                None => {
                    return Err(StoreError::Invalid(vec![format!(
                        "advance: moving {} forward by that much passes {LATEST}, the latest \
                         time orb-mock keeps",
                        now.to_rfc3339()
                    )]))
                }
            },
            (None, Some(to)) if to < now => {
                return Err(StoreError::Invalid(vec![format!(
                    "to: {} is before the account's time {}; an account's clock only moves \
                     forward (DELETE /_mock/clock returns it to real time)",
                    to.to_rfc3339(),
                    now.to_rfc3339()
                )]))
            }
            (None, Some(to)) if to > latest => {
                return Err(StoreError::Invalid(vec![format!(
                    "to: {} is after {LATEST}, the latest time orb-mock keeps",
                    to.to_rfc3339()
                )]))
            }
            (None, Some(to)) => to,
            (None, None) => now,
        };
        let frozen = self.freeze.unwrap_or(clock.frozen_at.is_some());
        Ok(AccountClock {
            offset: target - real,
            frozen_at: frozen.then_some(target),
        })
    }
}

/// The clocks this process has read, by account (no entry: not read yet).
#[derive(Debug, Default)]
pub(crate) struct ClockCache {
    clocks: RwLock<HashMap<String, AccountClock>>,
    /// Bumped by every change, so that a read that raced a change does not cache what it read.
    generation: AtomicU64,
}

impl ClockCache {
    fn get(&self, account: &str) -> Option<AccountClock> {
        self.clocks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
            .copied()
    }

    fn fill(&self, account: &str, clock: AccountClock, read_at_generation: u64) {
        let mut clocks = self.clocks.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) == read_at_generation {
            clocks.insert(account.to_owned(), clock);
        }
    }

    fn set(&self, account: &str, clock: AccountClock) {
        let mut clocks = self.clocks.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        clocks.insert(account.to_owned(), clock);
    }

    /// Forgets one account's clock (`None`: every account's), so that the next request reads
    /// it from the store.
    pub(crate) fn forget(&self, account: Option<&str>) {
        let mut clocks = self.clocks.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        match account {
            Some(account) => {
                clocks.remove(account);
            }
            None => clocks.clear(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ClockRow {
    offset_micros: i64,
    frozen_at: Option<DateTime<Utc>>,
}

impl From<Option<ClockRow>> for AccountClock {
    fn from(row: Option<ClockRow>) -> Self {
        row.map(|row| AccountClock {
            offset: chrono::Duration::microseconds(row.offset_micros),
            frozen_at: row.frozen_at,
        })
        .unwrap_or_default()
    }
}

impl Store {
    /// The account's clock, from this process's cache (read from the store on a miss).
    pub async fn account_clock(&self, account: &str) -> StoreResult<AccountClock> {
        match self.clocks.get(account) {
            Some(clock) => Ok(clock),
            None => self.read_account_clock(account).await,
        }
    }

    /// The account's clock as stored, refreshing this process's cache.
    pub async fn read_account_clock(&self, account: &str) -> StoreResult<AccountClock> {
        let generation = self.clocks.generation.load(Ordering::Acquire);
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, ClockRow>(
                "SELECT offset_micros, frozen_at FROM account_clocks WHERE account = $1",
            )
            .bind(account)
            .fetch_optional(pool)
            .await?
        });
        let clock = AccountClock::from(row);
        self.clocks.fill(account, clock, generation);
        Ok(clock)
    }

    /// Moves the account's clock, atomically against other moves (in any process), and
    /// returns it as it was and as it now is. The caller then runs what the move made due.
    pub async fn move_account_clock(
        &self,
        account: &str,
        change: &ClockMove,
        real: DateTime<Utc>,
    ) -> StoreResult<(AccountClock, AccountClock)> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO account_clocks (account, offset_micros) VALUES ($1, 0) \
                 ON CONFLICT (account) DO NOTHING",
            )
            .bind(account)
            .execute(c)
            .await?
            .rows_affected()
        });
        let sql = tx.locking(
            "SELECT offset_micros, frozen_at FROM account_clocks WHERE account = $1",
            RowLock::Update,
        );
        let row = on_tx!(&mut tx, |c| {
            sqlx::query_as::<_, ClockRow>(&sql)
                .bind(account)
                .fetch_optional(c)
                .await?
        });
        let before = AccountClock::from(row);
        let after = change.apply(before, real)?;
        let offset = after.offset.num_microseconds().unwrap_or(i64::MAX);
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE account_clocks SET offset_micros = $2, frozen_at = $3 WHERE account = $1",
            )
            .bind(account)
            .bind(offset)
            .bind(after.frozen_at)
            .execute(c)
            .await?
            .rows_affected()
        });
        self.announce_clock(&mut tx, account).await?;
        tx.commit().await?;
        self.clocks.set(account, after);
        Ok((before, after))
    }

    /// Returns the account's clock to real time.
    pub async fn reset_account_clock(&self, account: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query("DELETE FROM account_clocks WHERE account = $1")
                .bind(account)
                .execute(c)
                .await?
                .rows_affected()
        });
        self.announce_clock(&mut tx, account).await?;
        tx.commit().await?;
        self.clocks.set(account, AccountClock::default());
        Ok(())
    }

    /// Tells the other processes on the database, once `tx` commits, that the account's clock
    /// changed (PostgreSQL only: an SQLite file has one process).
    pub(crate) async fn announce_clock(
        &self,
        tx: &mut super::backend::Tx,
        account: &str,
    ) -> StoreResult<()> {
        if let super::backend::Tx::Postgres(tx) = tx {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CLOCK_CHANNEL)
                .bind(account)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Forgets cached clocks (one account's, or all): another process moved them.
    pub(crate) fn forget_clock(&self, account: Option<&str>) {
        self.clocks.forget(account);
    }

    /// On PostgreSQL, listens for other processes' clock moves until `shutdown`, dropping
    /// each moved account's cached clock (and every cached clock when the connection was lost,
    /// since a move may have been missed). On SQLite, returns at once.
    pub async fn follow_clocks(&self, shutdown: tokio_util::sync::CancellationToken) {
        let super::backend::Db::Postgres(pool) = &self.db else {
            return;
        };
        let mut listener = loop {
            match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut listener) => match listener.listen(CLOCK_CHANNEL).await {
                    Ok(()) => break listener,
                    Err(err) => tracing::warn!(error = %err, "cannot listen for clock moves"),
                },
                Err(err) => tracing::warn!(error = %err, "cannot listen for clock moves"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = shutdown.cancelled() => return,
            }
        };
        // Moves made before the listener was up are not heard: read afresh.
        self.forget_clock(None);
        loop {
            tokio::select! {
                heard = listener.try_recv() => match heard {
                    Ok(Some(notification)) => self.forget_clock(Some(notification.payload())),
                    // The connection was lost (try_recv reconnects on the next call).
                    Ok(None) => self.forget_clock(None),
                    Err(err) => {
                        tracing::warn!(error = %err, "lost the clock-move listener; retrying");
                        self.forget_clock(None);
                        tokio::select! {
                            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                            _ = shutdown.cancelled() => return,
                        }
                    }
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_advance_moves_a_running_clock_by_its_offset() {
        let real = at("2026-01-01T00:00:00Z");
        let moved = ClockMove {
            advance: Some(chrono::Duration::days(30)),
            ..Default::default()
        }
        .apply(AccountClock::default(), real)
        .unwrap();
        assert_eq!(moved.now(real), at("2026-01-31T00:00:00Z"));
        assert_eq!(
            moved.now(at("2026-01-02T00:00:00Z")),
            at("2026-02-01T00:00:00Z")
        );
        assert!(!moved.is_real());
    }

    #[test]
    fn a_frozen_clock_stays_where_it_was_frozen_and_restarts_from_there() {
        let real = at("2026-01-01T00:00:00Z");
        let frozen = ClockMove {
            freeze: Some(true),
            ..Default::default()
        }
        .apply(AccountClock::default(), real)
        .unwrap();
        let later = at("2026-01-05T00:00:00Z");
        assert_eq!(frozen.now(later), real);
        let running = ClockMove {
            freeze: Some(false),
            ..Default::default()
        }
        .apply(frozen, later)
        .unwrap();
        assert_eq!(running.now(later), real);
        assert_eq!(
            running.now(at("2026-01-05T00:00:10Z")),
            at("2026-01-01T00:00:10Z")
        );
    }

    #[test]
    fn a_jump_backwards_is_refused_naming_to() {
        let real = at("2026-01-01T00:00:00Z");
        let refused = ClockMove {
            to: Some(at("2025-12-31T00:00:00Z")),
            ..Default::default()
        }
        .apply(AccountClock::default(), real);
        match refused {
            Err(StoreError::Invalid(problems)) => assert!(problems[0].starts_with("to: ")),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_advance_past_the_latest_time_is_refused_naming_advance() {
        let real = at("9999-12-01T00:00:00Z");
        let refused = ClockMove {
            advance: Some(chrono::Duration::days(60)),
            ..Default::default()
        }
        .apply(AccountClock::default(), real);
        assert!(matches!(refused, Err(StoreError::Invalid(p)) if p[0].starts_with("advance: ")));
    }
}
