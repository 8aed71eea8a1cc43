//! Abuse limits: fixed-window request counters by key (the caller's subject
//! for submissions, the client address for everything under `/api`), answered
//! with 429 `request.rate_limited` and `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
}
