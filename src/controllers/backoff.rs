//! Per-object exponential backoff for failed reconciles. kube-runtime retries an object when
//! `error_policy` says so but keeps no per-object failure count (kube-rs/kube#1916), so this
//! counts consecutive failures by object key and forgets them on the first success.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self { base, max, failures: Mutex::default() }
    }

    /// Records one more failure of `key` and returns how long to wait before the next try:
    /// base, 2 x base, 4 x base, ... capped at max.
    pub fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self.failures();
        let count = failures.entry(key.to_owned()).or_insert(0);
        let delay = self.base.saturating_mul(1u32 << (*count).min(20));
        *count = count.saturating_add(1);
        delay.min(self.max)
    }

    pub fn reset(&self, key: &str) {
        self.failures().remove(key);
    }

    /// Keeps only the keys `keep` accepts (objects that still exist).
    pub fn retain(&self, keep: &dyn Fn(&str) -> bool) {
        self.failures().retain(|key, _| keep(key));
    }

    /// Objects with failures counted.
    pub fn len(&self) -> usize {
        self.failures().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_failure_up_to_the_cap_and_resets() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let delays: Vec<u64> = (0..6).map(|_| backoff.next_delay("a").as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        // Other objects have their own count.
        assert_eq!(backoff.next_delay("b"), Duration::from_secs(1));
        backoff.reset("a");
        assert_eq!(backoff.next_delay("a"), Duration::from_secs(1));
    }
}
