//! A component's work, run in terms: while this replica holds its Lease, or
//! one term from start-up on when there is no election.

use crate::Tasks;
use capstan_runtime::LeaderElector;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

impl<E: Send + 'static> Tasks<E> {
    /// Spawn the component's `work` and return the flag that is true while it
    /// runs (what `is_leader` reports).
    ///
    /// With an `elector`, a term starts each time the lease is won and is
    /// dropped when it is lost; the lease is released on [`Tasks::stop`].
    /// Without one, a single term starts at once and the flag is true from
    /// the start.
    ///
    /// Each term gets its own token, a child of the shutdown token, cancelled
    /// when the term ends however it ends (returned, dropped with the lease,
    /// or stopped), so whatever the term started with that token stops with it.
    pub fn spawn_work<W, F>(&mut self, elector: Option<LeaderElector>, work: W) -> Arc<AtomicBool>
    where
        W: Fn(CancellationToken) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown().clone();
        let Some(elector) = elector else {
            self.spawn(async move {
                term(&shutdown, &work).await;
                Ok(())
            });
            return Arc::new(AtomicBool::new(true));
        };
        let leading = elector.leading_flag();
        self.spawn(async move {
            elector.lead(shutdown.clone().cancelled_owned(), || term(&shutdown, &work)).await;
            Ok(())
        });
        leading
    }
}

/// One term of `work`, on a fresh child of `shutdown` that is cancelled when
/// the returned future ends or is dropped.
fn term<W, F>(shutdown: &CancellationToken, work: &W) -> impl Future<Output = ()> + Send + 'static
where
    W: Fn(CancellationToken) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let token = shutdown.child_token();
    let cancel_when_over = token.clone().drop_guard();
    let running = work(token);
    async move {
        let _cancel_when_over = cancel_when_over;
        running.await;
    }
}
