//! Group commit: concurrent writes of customers share one transaction.
//!
//! A write transaction pays for its `BEGIN`, its `COMMIT` and a connection from the pool,
//! besides its own statements; on SQLite each of those is a hand-off to the connection's
//! thread, on PostgreSQL a round trip and a WAL flush. Creations and edits of customers are
//! the hottest writes, and each also writes its webhook event. A [`Batcher`] takes every such
//! write waiting and [`write_customers`] runs them in one transaction, each write's own
//! statements in turn (the same [`CustomerWrite::run`] a write alone runs), and commits once:
//! a creation then costs one statement instead of three, and an edit two instead of four,
//! which more than pays for its event (BENCHMARKS.md, "Webhooks").
//!
//! SQLite has one group (it has one writer); PostgreSQL has [`POSTGRES_GROUPS`], whose
//! connections work side by side. Edits of one customer always join the same group, so groups
//! never wait on each other's row locks.
//!
//! The batches of SQLite alone, which serve many requests with one statement, are
//! [`super::sqlite::batch`].

use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::backend::{abandonment, Writer};
use super::customers::CustomerWrite;
use super::model::Customer;
use super::{StoreError, StoreResult};

/// The most requests served together.
pub const MAX_BATCH: usize = 256;

/// How many groups of writes run side by side on PostgreSQL (each holds one connection of the
/// pool while it runs).
pub const POSTGRES_GROUPS: usize = 4;

/// The groups writes of customers join; cheap to clone.
#[derive(Clone)]
pub(crate) struct Groups {
    groups: Arc<[Batcher<Write, Customer>]>,
    hasher: std::hash::RandomState,
    next: Arc<AtomicUsize>,
}

impl Groups {
    /// Starts the groups' tasks on the current runtime.
    pub(crate) fn start(writer: Writer) -> Groups {
        let count = match writer {
            Writer::Postgres(_) => POSTGRES_GROUPS,
            Writer::Sqlite(_) => 1,
        };
        Groups {
            groups: (0..count)
                .map(|_| Batcher::start(writer.clone(), write_customers))
                .collect(),
            hasher: std::hash::RandomState::new(),
            next: Arc::default(),
        }
    }

    /// Runs `write` with the others waiting in its group: `Some(answer)`, or `None` when the
    /// caller must write alone. An edit joins the group of its customer; a creation, the next.
    pub(crate) async fn write(&self, write: CustomerWrite) -> Option<StoreResult<Customer>> {
        let at = match &write {
            CustomerWrite::Edit { account, by, .. } => self.hasher.hash_one((account, by)) as usize,
            CustomerWrite::Create { .. } => self.next.fetch_add(1, Ordering::Relaxed),
        } % self.groups.len();
        let write = Write {
            write,
            abandoned: abandonment(),
        };
        self.groups[at].ask(write).await
    }
}

type Pending<Q, A> = (Q, oneshot::Sender<StoreResult<A>>);

/// A task serving queries `Q` in batches; cheap to clone. The task ends when every handle is
/// dropped.
pub(crate) struct Batcher<Q, A> {
    sender: mpsc::UnboundedSender<Pending<Q, A>>,
}

impl<Q, A> Clone for Batcher<Q, A> {
    fn clone(&self) -> Self {
        Batcher {
            sender: self.sender.clone(),
        }
    }
}

impl<Q: Send + 'static, A: Send + 'static> Batcher<Q, A> {
    /// Starts the task on the current runtime: `serve` answers a batch, one answer per query
    /// in order; a shorter answer leaves the rest unanswered (their callers see `None`).
    pub(crate) fn start<P, F, Fut>(pool: P, serve: F) -> Self
    where
        P: Clone + Send + 'static,
        F: Fn(P, Vec<Q>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<StoreResult<A>>> + Send,
    {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Pending<Q, A>>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (queries, replies): (Vec<Q>, Vec<_>) = batch.drain(..).unzip();
                let answers = serve(pool.clone(), queries).await;
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
        });
        Batcher { sender }
    }

    /// The answer to `query`, or `None` when the task has stopped or left it unanswered.
    pub(crate) async fn ask(&self, query: Q) -> Option<StoreResult<A>> {
        let (reply, answer) = oneshot::channel();
        self.sender.send((query, reply)).ok()?;
        answer.await.ok()
    }
}

/// A write of a customer, for [`write_customers`].
pub(crate) struct Write {
    pub write: CustomerWrite,
    pub abandoned: Option<CancellationToken>,
}

/// Runs every listed write in one transaction, in order, and commits once. A write refused by
/// the store's rules (not found, a set-once field, …) has written nothing
/// ([`CustomerWrite::run`]) and is answered so; the others go on. If the database fails (on
/// PostgreSQL, also a taken unique key: it aborts the transaction, [`Tx::survives`]), or a
/// write's request is abandoned before the commit, the whole transaction rolls back and the
/// batch is left unanswered: each caller writes alone (and an abandoned one then changes
/// nothing).
pub(crate) async fn write_customers(
    writer: Writer,
    batch: Vec<Write>,
) -> Vec<StoreResult<Customer>> {
    let size = batch.len();
    let give_up = |err: &StoreError| {
        tracing::warn!(error = %err, size, "a batch of customer writes failed; each goes alone");
        Vec::new()
    };
    let mut tx = match writer.begin().await {
        Ok(tx) => tx,
        Err(err) => return give_up(&err),
    };
    let tokens: Vec<Option<CancellationToken>> =
        batch.iter().map(|w| w.abandoned.clone()).collect();
    let abandoned = |at: usize| tokens[at].as_ref().is_some_and(|t| t.is_cancelled());
    let mut answers = Vec::with_capacity(size);
    for (at, w) in batch.into_iter().enumerate() {
        if abandoned(at) {
            answers.push(Err(StoreError::Abandoned));
            continue;
        }
        match w.write.run(&mut tx).await {
            Err(err) if !tx.survives(&err) => {
                tx.rollback().await;
                return give_up(&err);
            }
            answer => answers.push(answer),
        }
    }
    // A request abandoned while the batch ran must change nothing: all go alone.
    if (0..size).any(|at| answers[at].is_ok() && abandoned(at)) {
        tx.rollback().await;
        return Vec::new();
    }
    match tx.commit().await {
        Ok(()) => answers,
        Err(err) => give_up(&err),
    }
}
