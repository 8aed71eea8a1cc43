//! Abuse limits: request rates by key through `governor` (the caller's subject
//! for submissions, the client address for everything under `/api`), answered
//! with 429 `request.rate_limited` and `Retry-After`; and counters of uploads
//! in progress by key ([`Concurrency`]: per person and per client address,
//! taken before an upload's body is read, 429 `request.too_many_uploads`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// At most `max` holders per key at once; `max == 0` disables it.
#[derive(Debug)]
pub struct Concurrency {
    max: u32,
    held: Arc<Mutex<HashMap<String, u32>>>,
}

/// One holder's slot; released when dropped.
#[derive(Debug)]
pub struct Slot {
    key: String,
    held: Option<Arc<Mutex<HashMap<String, u32>>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(held) = self.held.take() else { return };
        let mut held = held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

impl Concurrency {
    /// At most `max` at once per key.
    pub fn new(max: u32) -> Concurrency {
        Concurrency { max, held: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// A slot for `key`, or `None` when `key` already holds `max`.
    pub fn try_acquire(&self, key: &str) -> Option<Slot> {
        if self.max == 0 {
            return Some(Slot { key: String::new(), held: None });
        }
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = held.entry(key.to_owned()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot { key: key.to_owned(), held: Some(self.held.clone()) })
    }

    /// Slots held for `key` now.
    pub fn held(&self, key: &str) -> u32 {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).copied().unwrap_or(0)
    }
}

/// A rate limit per key through `governor` (GCRA): a burst of at most `max` hits, refilled evenly
/// over `window` (one hit every `window / max`), so a key that used its burst gets one hit back
/// after `window / max`, not at the end of a fixed window. `max == 0` disables it.
#[derive(Debug)]
pub struct RateLimiter {
    inner: Option<governor::DefaultKeyedRateLimiter<String>>,
    clock: governor::clock::DefaultClock,
    checks: std::sync::atomic::AtomicU64,
}

/// How often (in checks) the keys whose state is back to full are forgotten (bounds the memory).
const FORGET_EVERY: u64 = 10_000;

impl RateLimiter {
    /// `max` hits per `window` per key; `max == 0` disables the limiter.
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        let inner = std::num::NonZeroU32::new(max)
            .and_then(|burst| Some(governor::Quota::with_period(window / max)?.allow_burst(burst)))
            .map(governor::RateLimiter::keyed);
        RateLimiter { inner, clock: governor::clock::DefaultClock::default(), checks: Default::default() }
    }

    /// Counts a hit; `Err(seconds until the key may hit again)` when over the limit.
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        use governor::clock::Clock;
        let Some(inner) = &self.inner else { return Ok(()) };
        if self.checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            inner.retain_recent();
            inner.shrink_to_fit();
        }
        inner.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Keys with state now (tests: memory stays bounded).
    pub fn keys(&self) -> usize {
        self.inner.as_ref().map_or(0, governor::RateLimiter::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_refills_over_the_window() {
        let l = RateLimiter::new(2, Duration::from_millis(50));
        assert!(l.hit("a").is_ok() && l.hit("a").is_ok());
        assert!(l.hit("a").is_err());
        assert!(l.hit("b").is_ok(), "keys are separate");
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.hit("a").is_ok(), "refilled after the window");
        assert!(RateLimiter::new(0, Duration::from_secs(1)).hit("x").is_ok(), "0 disables");
    }

    #[test]
    fn retry_after_is_when_one_more_hit_is_allowed_and_the_burst_is_the_limit() {
        let l = RateLimiter::new(5, Duration::from_secs(60));
        for i in 0..5 {
            assert!(l.hit("a").is_ok(), "hit {i} of the burst");
        }
        // One hit comes back every 60 / 5 = 12 s.
        let secs = l.hit("a").unwrap_err();
        assert!((11..=12).contains(&secs), "{secs}");
        assert!(l.hit("a").is_err(), "refused hits do not count against later ones, and are still refused");
    }

    #[test]
    fn the_memory_of_keys_is_bounded() {
        let l = RateLimiter::new(1_000, Duration::from_millis(1));
        for i in 0..(2 * FORGET_EVERY) {
            let _ = l.hit(&format!("k{i}"));
        }
        std::thread::sleep(Duration::from_millis(5));
        for _ in 0..FORGET_EVERY {
            let _ = l.hit("again");
        }
        assert!(l.keys() < FORGET_EVERY as usize, "forgotten: {} keys left", l.keys());
    }

    #[test]
    fn concurrency_slots_are_per_key_and_released_on_drop() {
        let c = Concurrency::new(2);
        let a1 = c.try_acquire("a").unwrap();
        let a2 = c.try_acquire("a").unwrap();
        assert!(c.try_acquire("a").is_none(), "a third at once is refused");
        let b = c.try_acquire("b");
        assert!(b.is_some(), "keys are separate");
        drop(a1);
        assert_eq!(c.held("a"), 1);
        assert!(c.try_acquire("a").is_some(), "a released slot is free again");
        drop((a2, b));
        assert_eq!((c.held("a"), c.held("b")), (0, 0));
        let off = Concurrency::new(0);
        let many: Vec<_> = (0..10).map(|_| off.try_acquire("x")).collect();
        assert!(many.iter().all(Option::is_some), "0 disables");
    }
}
