//! Flow control per (account, action): the generic cell rate algorithm (a token bucket kept as one
//! timestamp), in integer nanoseconds.
//!
//! Each key remembers its theoretical arrival time (TAT). A request at `now` conforms when
//! `now >= TAT - tolerance`, where the tolerance lets `burst` requests through at once; conforming
//! moves TAT on by one emission interval (1 s / rate). A refused request learns how long until it
//! would conform: the `x-acs-retry-after` header.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

const SHARDS: usize = 16;

/// What the limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Allow,
    /// Refused; retry after this many milliseconds (at least 1).
    RetryAfterMs(u64),
}

/// The limiter shared by all connections of this node.
pub struct FlowControl {
    epoch: Instant,
    shards: Vec<Mutex<HashMap<(String, &'static str), u64>>>,
}

impl Default for FlowControl {
    fn default() -> Self {
        FlowControl {
            epoch: Instant::now(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl FlowControl {
    /// Checks one request of `account` for `action` at `rate` per second with `burst`.
    /// A rate of 0 means unlimited.
    pub fn check(&self, account: &str, action: &'static str, rate: u32, burst: u32) -> Throttle {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.check_at(account, action, rate, burst, now)
    }

    fn check_at(
        &self,
        account: &str,
        action: &'static str,
        rate: u32,
        burst: u32,
        now: u64,
    ) -> Throttle {
        if rate == 0 {
            return Throttle::Allow;
        }
        let interval = 1_000_000_000u64 / u64::from(rate);
        let tolerance = interval * u64::from(burst.max(1) - 1);
        let shard = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (account, action).hash(&mut h);
            (h.finish() as usize) % SHARDS
        };
        let mut map = self.shards[shard].lock().unwrap_or_else(|p| p.into_inner());
        // Forget keys idle long enough that their bucket is full again (bounded memory).
        if map.len() > 100_000 {
            map.retain(|_, tat| *tat + tolerance > now);
        }
        let tat = map.entry((account.to_string(), action)).or_insert(now);
        let allowed_from = tat.saturating_sub(tolerance);
        if now >= allowed_from {
            *tat = (*tat).max(now) + interval;
            Throttle::Allow
        } else {
            Throttle::RetryAfterMs((allowed_from - now).div_ceil(1_000_000).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let f = FlowControl::default();
        let t0 = 1_000_000_000_000u64;
        // 50/s, burst 50: 50 at once pass, the 51st waits 20 ms.
        for i in 0..50 {
            assert_eq!(f.check_at("a", "X", 50, 50, t0), Throttle::Allow, "{i}");
        }
        assert_eq!(f.check_at("a", "X", 50, 50, t0), Throttle::RetryAfterMs(20));
        // Other actions and accounts have their own buckets.
        assert_eq!(f.check_at("a", "Y", 50, 50, t0), Throttle::Allow);
        assert_eq!(f.check_at("b", "X", 50, 50, t0), Throttle::Allow);
        // 20 ms later one more passes.
        assert_eq!(
            f.check_at("a", "X", 50, 50, t0 + 20_000_000),
            Throttle::Allow
        );
        assert!(matches!(
            f.check_at("a", "X", 50, 50, t0 + 20_000_000),
            Throttle::RetryAfterMs(_)
        ));
        // Unlimited.
        for _ in 0..1000 {
            assert_eq!(f.check_at("a", "Z", 0, 0, t0), Throttle::Allow);
        }
    }

    #[test]
    fn sustained_rate_is_respected() {
        let f = FlowControl::default();
        let mut allowed = 0;
        // 10 seconds of a request every millisecond at 50/s burst 5: about 50*10 + 5.
        for ms in 0..10_000u64 {
            if f.check_at("a", "X", 50, 5, 5_000_000_000 + ms * 1_000_000) == Throttle::Allow {
                allowed += 1;
            }
        }
        assert!((500..=506).contains(&allowed), "{allowed}");
    }
}
