//! Abuse limits: fixed-window request counters by key (the caller's subject
//! for submissions, the client address for everything under `/api`), answered
//! with 429 `request.rate_limited` and `Retry-After`; and counters of uploads
//! in progress by key ([`Concurrency`]: per person and per client address,
//! taken before an upload's body is read, 429 `request.too_many_uploads`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// A fixed-window limiter: at most `max` hits per key per `window`.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// `max` hits per `window` per key; `max == 0` disables the limiter.
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter { max, window, hits: Mutex::new(HashMap::new()) }
    }

    /// Counts a hit; `Err(seconds until the window ends)` when over the limit.
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        if self.max == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if hits.len() > 100_000 {
            hits.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = hits.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.max {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_resets_after_the_window() {
        let l = RateLimiter::new(2, Duration::from_millis(50));
        assert!(l.hit("a").is_ok() && l.hit("a").is_ok());
        assert!(l.hit("a").is_err());
        assert!(l.hit("b").is_ok(), "keys are separate");
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.hit("a").is_ok(), "a new window");
        assert!(RateLimiter::new(0, Duration::from_secs(1)).hit("x").is_ok(), "0 disables");
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
