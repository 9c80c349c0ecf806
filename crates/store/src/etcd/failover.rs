//! Routing each request around etcd members that are down.
//!
//! etcd-client balances one channel over every endpoint and keeps a dead endpoint in the
//! rotation, so with one member of three down a third of all requests failed. Instead the
//! store holds one client per member, and every request goes through [`run`]: it tries the
//! members that are not known to be down, in rotation, each attempt bounded, until one
//! answers or the request's budget is spent. A member whose attempt failed is passed over for
//! a probation period, then tried again (so one that came back is used again without a
//! background prober). When every member failed once (a leader election: followers answer
//! "no leader"), it pauses briefly and goes round again.
//!
//! Retrying is safe for reads. For a write, a failed attempt may still have been applied
//! (the answer was lost, not the request): [`Outcome::uncertain`] tells the caller so, and
//! the write's own retry resolves it (see `api.rs`); nothing here retries a write blindly.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::StoreError;

/// How hard [`run`] tries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Bound on one attempt on one member.
    pub(crate) attempt_timeout: Duration,
    /// Bound on the whole request, over every attempt.
    pub(crate) budget: Duration,
    /// Pause after every candidate failed once.
    pub(crate) pause: Duration,
    /// How long a member that failed is passed over.
    pub(crate) probation: Duration,
}

/// A request's result, and whether an earlier attempt failed in a way that may have applied
/// it anyway (its answer, not the request, may be what was lost).
#[derive(Debug)]
pub(crate) struct Outcome<T> {
    pub(crate) value: T,
    pub(crate) uncertain: bool,
}

/// Which members are passed over, and where the rotation stands.
#[derive(Debug)]
pub(crate) struct Health {
    epoch: Instant,
    /// Per member: milliseconds after `epoch` until which it is passed over (0: healthy).
    down_until: Vec<AtomicU64>,
    next: AtomicUsize,
}

impl Health {
    pub(crate) fn new(members: usize) -> Self {
        Health {
            epoch: Instant::now(),
            down_until: (0..members).map(|_| AtomicU64::new(0)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The members to try, in order: those not passed over, from the next in rotation; if
    /// every member is passed over, all of them (better a member that may be back than none).
    pub(crate) fn order(&self) -> Vec<usize> {
        let count = self.down_until.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let rotation = (0..count).map(|i| (start + i) % count);
        let now = self.millis();
        let healthy: Vec<usize> =
            rotation.clone().filter(|&i| self.down_until[i].load(Ordering::Relaxed) <= now).collect();
        if healthy.is_empty() {
            rotation.collect()
        } else {
            healthy
        }
    }

    pub(crate) fn mark_down(&self, member: usize, probation: Duration) {
        let until = self.millis() + u64::try_from(probation.as_millis()).unwrap_or(u64::MAX / 2);
        self.down_until[member].store(until.max(1), Ordering::Relaxed);
    }

    pub(crate) fn mark_up(&self, member: usize) {
        self.down_until[member].store(0, Ordering::Relaxed);
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX / 2)
    }
}

/// Runs `attempt` on one member after another (see the module docs) until one answers or
/// the budget is spent. A non-retryable error is an answer and ends the request at once.
/// `timed_out(member)` is the error of an attempt cut short; `give_up(last, attempts)`
/// words the final error when no member answered.
pub(crate) async fn run<T, F, Fut>(
    health: &Health,
    policy: Policy,
    timed_out: impl Fn(usize) -> StoreError,
    give_up: impl FnOnce(StoreError, usize) -> StoreError,
    mut attempt: F,
) -> Result<Outcome<T>, StoreError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + policy.budget;
    let mut uncertain = false;
    let mut attempts = 0;
    loop {
        let mut last = None;
        for member in health.order() {
            let bound = policy.attempt_timeout.min(deadline.saturating_duration_since(Instant::now()));
            attempts += 1;
            let result = match tokio::time::timeout(bound, attempt(member)).await {
                Ok(result) => result,
                Err(_) => Err(timed_out(member)),
            };
            match result {
                Ok(value) => {
                    health.mark_up(member);
                    return Ok(Outcome { value, uncertain });
                }
                Err(error) if error.is_retryable() => {
                    tracing::debug!(member, %error, "etcd member failed; trying another");
                    health.mark_down(member, policy.probation);
                    uncertain = true;
                    last = Some(error);
                }
                Err(error) => {
                    health.mark_up(member);
                    return Err(error);
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        let last = last.unwrap_or_else(|| StoreError::Unavailable("no etcd member to try".into()));
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(give_up(last, attempts));
        }
        tokio::time::sleep(policy.pause.min(remaining)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    const POLICY: Policy = Policy {
        attempt_timeout: Duration::from_secs(5),
        budget: Duration::from_secs(30),
        pause: Duration::from_millis(100),
        probation: Duration::from_secs(1),
    };

    fn down(member: usize) -> StoreError {
        StoreError::Unavailable(format!("member {member} is down"))
    }

    /// Runs one request against members whose behaviour `answer` scripts, and returns its
    /// result with the members tried, in order.
    async fn request(
        health: &Health,
        answer: impl Fn(usize) -> Result<&'static str, StoreError>,
    ) -> (Result<Outcome<&'static str>, StoreError>, Vec<usize>) {
        let tried = RefCell::new(Vec::new());
        let result = run(
            health,
            POLICY,
            |m| StoreError::Unavailable(format!("member {m} timed out")),
            |last, attempts| StoreError::Unavailable(format!("gave up after {attempts} attempts: {last}")),
            |member| {
                tried.borrow_mut().push(member);
                let answer = answer(member);
                async move {
                    if matches!(&answer, Err(StoreError::Unavailable(m)) if m == "hang") {
                        std::future::pending::<()>().await;
                    }
                    answer
                }
            },
        )
        .await;
        (result, tried.into_inner())
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_member_is_tried_once_then_passed_over_until_its_probation_ends() {
        let health = Health::new(3);
        let member_1_down = |m| if m == 1 { Err(down(m)) } else { Ok("ok") };
        let mut tried = Vec::new();
        for _ in 0..4 {
            let (result, t) = request(&health, member_1_down).await;
            let outcome = result.expect("another member answers");
            assert_eq!(outcome.uncertain, t.contains(&1), "uncertain only when an attempt failed");
            tried.extend(t);
        }
        // In rotation: 0; 1 fails, so 2; then 1 is passed over (2, then 0).
        assert_eq!(tried, vec![0, 1, 2, 2, 0], "the dead member costs one attempt, not one request in three");

        tokio::time::advance(POLICY.probation).await;
        let (result, tried) = request(&health, |_| Ok("back")).await;
        assert_eq!(result.expect("answers").value, "back");
        assert_eq!(tried, vec![1], "after its probation the member is used again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_member_is_cut_off_after_the_attempt_timeout() {
        let health = Health::new(3);
        let (result, tried) =
            request(&health, |m| if m == 0 { Err(StoreError::Unavailable("hang".into())) } else { Ok("ok") }).await;
        let outcome = result.expect("the next member answers");
        assert!(outcome.uncertain, "the hung attempt may have been applied");
        assert_eq!(tried, vec![0, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn when_every_member_fails_it_goes_round_again_until_one_answers() {
        let health = Health::new(3);
        let calls = RefCell::new(0);
        let (result, tried) = request(&health, |m| {
            *calls.borrow_mut() += 1;
            if *calls.borrow() <= 4 {
                Err(down(m))
            } else {
                Ok("elected")
            }
        })
        .await;
        assert_eq!(result.expect("answers after the election").value, "elected");
        assert_eq!(tried.len(), 5, "all three failed, then all (passed over) were tried again: {tried:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn without_any_member_it_gives_up_when_the_budget_is_spent_naming_the_last_error() {
        let health = Health::new(2);
        let (result, tried) = request(&health, |m| Err(down(m))).await;
        let error = result.expect_err("no member answers");
        let text = error.to_string();
        assert!(text.contains("gave up after") && text.contains("is down"), "{text}");
        assert!(error.is_retryable(), "{text}");
        assert!(tried.len() > 2, "it kept trying for the whole budget: {tried:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_definite_answer_is_not_retried() {
        let health = Health::new(3);
        let (result, tried) = request(&health, |_| Err(StoreError::NotFound { key: "/k".into() })).await;
        assert!(matches!(result, Err(StoreError::NotFound { .. })));
        assert_eq!(tried, vec![0]);
    }
}
