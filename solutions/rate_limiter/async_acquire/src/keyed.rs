//! One token bucket per key, shared by threads.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

use katas_sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::{Clock, SystemClock};
use crate::error::AcquireError;
use crate::token_bucket::TokenBucket;

/// How many independently locked parts the key space is split into. Threads working on keys in
/// different shards never wait for each other; 16 is plenty for a handful of cores.
const SHARDS: usize = 16;

type Shard<K, C> = Mutex<HashMap<K, TokenBucket<C>>>;

/// A [`TokenBucket`] per key (a user, an IP address, an API key), all with the same capacity and
/// refill interval, safe to share between threads (`&self` methods, `Send + Sync`).
///
/// A key's bucket is created full on first use. A full bucket behaves exactly like a new one, so
/// [`KeyedLimiter::evict_idle`] can forget it without changing any decision: memory then holds
/// only the keys that are actually being limited.
///
/// The map is split into shards, each behind its own `Mutex`; a decision locks one shard for the
/// few nanoseconds of one bucket update, so two threads hammering one key are serialised (no
/// overshoot) while threads on different keys mostly are not.
#[derive(Debug)]
pub struct KeyedLimiter<K, C = SystemClock> {
    capacity: u64,
    refill_every: Duration,
    clock: C,
    hasher: RandomState,
    shards: Box<[Shard<K, C>]>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K, SystemClock> {
    /// Buckets of `capacity` tokens, one more every `refill_every`, on the machine's clock.
    ///
    /// # Panics
    /// If `refill_every` is zero.
    pub fn new(capacity: u64, refill_every: Duration) -> Self {
        Self::with_clock(capacity, refill_every, SystemClock)
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> KeyedLimiter<K, C> {
    /// Buckets of `capacity` tokens, one more every `refill_every`, each reading a clone of
    /// `clock`.
    ///
    /// # Panics
    /// If `refill_every` is zero.
    pub fn with_clock(capacity: u64, refill_every: Duration, clock: C) -> Self {
        assert!(
            !refill_every.is_zero(),
            "a refill interval must not be zero"
        );
        Self {
            capacity,
            refill_every,
            clock,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Takes one token from `key`'s bucket if there is one.
    pub fn try_acquire(&self, key: &K) -> bool {
        self.try_acquire_n(key, 1).is_ok()
    }

    /// Takes `n` tokens from `key`'s bucket, with [`TokenBucket::try_acquire_n`]'s contract.
    pub fn try_acquire_n(&self, key: &K, n: u64) -> Result<(), AcquireError> {
        let mut shard = self.shard(key);
        if let Some(bucket) = shard.get_mut(key) {
            return bucket.try_acquire_n(n);
        }
        // Check before inserting, so that a stream of impossible requests with fresh keys
        // cannot fill the map.
        if n > self.capacity {
            return Err(AcquireError::ExceedsCapacity {
                requested: n,
                capacity: self.capacity,
            });
        }
        let mut bucket =
            TokenBucket::with_clock(self.capacity, self.refill_every, self.clock.clone());
        let decision = bucket.try_acquire_n(n);
        shard.insert(key.clone(), bucket);
        decision
    }

    /// How many keys have a bucket in memory.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Whether no key has a bucket in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every key whose bucket is full now, and only those; returns how many were
    /// forgotten. Call it periodically (say, every few seconds) to bound memory by the number of
    /// keys that are actually being limited.
    pub fn evict_idle(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut map = lock(shard);
                let before = map.len();
                map.retain(|_, bucket| !bucket.is_full());
                before - map.len()
            })
            .sum()
    }

    fn shard(&self, key: &K) -> MutexGuard<'_, HashMap<K, TokenBucket<C>>> {
        // The remainder is below SHARDS, so the conversion back to usize is lossless.
        let index = (self.hasher.hash_one(key) % SHARDS as u64) as usize;
        lock(&self.shards[index])
    }
}

/// Locks a shard. A panic while a shard is locked can only come from a clock or a hash function
/// (bucket updates do not panic), and leaves every bucket in a consistent state, so a poisoned
/// shard is still safe to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
