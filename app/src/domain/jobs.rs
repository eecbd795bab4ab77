//! Work done after the answer (sending e-mail): one bounded queue, worked
//! through in order by one owned task, drained on shutdown.
//!
//! A request that queues work answers at once and the same whatever the work
//! finds, so neither the answer nor its timing gives anything away. The queue
//! is bounded: when it is full the request is refused (503), never queued
//! without end.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::AppError;

/// Jobs waiting at most; one more is refused.
pub const CAPACITY: usize = 256;
/// The longest one job may run (an SMTP server that hangs, say).
pub const JOB_TIMEOUT: Duration = Duration::from_mins(1);

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The queue's handle; cheap to share behind an `Arc`.
pub struct JobQueue {
    jobs: mpsc::Sender<Job>,
    queued: AtomicU64,
    /// How many jobs have finished (or timed out).
    done: watch::Receiver<u64>,
}

impl JobQueue {
    /// Starts the worker as a task of `tasks`. After `shutdown` it finishes
    /// what is queued, then stops.
    pub fn start(tasks: &TaskTracker, shutdown: &CancellationToken) -> Self {
        let (jobs, mut waiting) = mpsc::channel::<Job>(CAPACITY);
        let (finished, done) = watch::channel(0_u64);
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            loop {
                let job = tokio::select! {
                    biased;
                    job = waiting.recv() => job,
                    () = shutdown.cancelled() => {
                        // Take no more; finish what is queued.
                        waiting.close();
                        waiting.recv().await
                    }
                };
                let Some(job) = job else { return };
                if tokio::time::timeout(JOB_TIMEOUT, job).await.is_err() {
                    tracing::error!("a background job ran over {JOB_TIMEOUT:?} and was dropped");
                }
                finished.send_modify(|count| *count += 1);
            }
        });
        Self {
            jobs,
            queued: AtomicU64::new(0),
            done,
        }
    }

    /// Queues `job`, or refuses with 503 when the queue is full or stopping.
    pub fn enqueue(&self, job: impl Future<Output = ()> + Send + 'static) -> Result<(), AppError> {
        // Counted first, so `flushed` never misses a job that was accepted.
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.jobs.try_send(Box::pin(job)).is_err() {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!("the background queue is full; refusing");
            return Err(AppError::Unavailable);
        }
        Ok(())
    }

    /// Resolves once every job queued before this call has finished.
    pub async fn flushed(&self) {
        let target = self.queued.load(Ordering::SeqCst);
        let mut done = self.done.clone();
        // An error means the worker is gone: nothing more will finish.
        let _ = done.wait_for(|finished| *finished >= target).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_and_flushed_waits_for_all_of_them() {
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let queue = JobQueue::start(&tasks, &shutdown);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        for n in 0..5 {
            let order = Arc::clone(&order);
            queue
                .enqueue(async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    order.lock().unwrap().push(n);
                })
                .unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), queue.flushed())
            .await
            .unwrap();
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_shutdown_drains_what_was_taken() {
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let queue = JobQueue::start(&tasks, &shutdown);
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let ran = Arc::new(AtomicUsize::new(0));
        // The first job holds the worker until released.
        queue
            .enqueue(async move {
                let _ = gate.await;
            })
            .unwrap();
        let mut accepted = 0;
        let mut refused = 0;
        for _ in 0..CAPACITY + 10 {
            let ran = Arc::clone(&ran);
            match queue.enqueue(async move {
                ran.fetch_add(1, Ordering::SeqCst);
            }) {
                Ok(()) => accepted += 1,
                Err(AppError::Unavailable) => refused += 1,
                Err(other) => panic!("{other:?}"),
            }
        }
        assert!(
            refused > 0 && accepted >= CAPACITY - 1,
            "{accepted} {refused}"
        );
        shutdown.cancel();
        release.send(()).unwrap();
        tasks.close();
        tokio::time::timeout(Duration::from_secs(10), tasks.wait())
            .await
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), accepted);
    }
}
