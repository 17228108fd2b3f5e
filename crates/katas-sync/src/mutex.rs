//! `Mutex` in model builds: `std`'s on ordinary threads, shuttle's inside a model execution.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

use crate::model;

/// A mutual exclusion lock with `std::sync::Mutex`'s API (see the crate docs for when it is
/// which primitive).
pub struct Mutex<T> {
    inner: Inner<T>,
}

enum Inner<T> {
    Std(std::sync::Mutex<T>),
    Model(shuttle::sync::Mutex<T>, model::Serial),
}

/// The guard of a locked [`Mutex`]; unlocks on drop.
pub struct MutexGuard<'a, T> {
    inner: GuardInner<'a, T>,
}

enum GuardInner<'a, T> {
    Std(std::sync::MutexGuard<'a, T>),
    Model(shuttle::sync::MutexGuard<'a, T>),
}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        let inner = if model::active() {
            Inner::Model(shuttle::sync::Mutex::new(value), model::Serial::next())
        } else {
            Inner::Std(std::sync::Mutex::new(value))
        };
        Self { inner }
    }

    /// Blocks until the lock is held; like `std::sync::Mutex::lock`.
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let guard = |inner| MutexGuard { inner };
        match &self.inner {
            Inner::Std(lock) => map_lock(lock.lock(), |g| guard(GuardInner::Std(g))),
            Inner::Model(lock, serial) => {
                serial.touch();
                map_lock(lock.lock(), |g| guard(GuardInner::Model(g)))
            }
        }
    }

    /// Takes the lock if it is free; like `std::sync::Mutex::try_lock`.
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let guard = |inner| MutexGuard { inner };
        match &self.inner {
            Inner::Std(lock) => map_try(lock.try_lock(), |g| guard(GuardInner::Std(g))),
            Inner::Model(lock, serial) => {
                serial.touch();
                map_try(lock.try_lock(), |g| guard(GuardInner::Model(g)))
            }
        }
    }

    /// The value, through `&mut self` (no locking needed).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        match &mut self.inner {
            Inner::Std(lock) => lock.get_mut(),
            Inner::Model(lock, _) => lock.get_mut(),
        }
    }

    /// Consumes the mutex, returning its value.
    pub fn into_inner(self) -> LockResult<T> {
        match self.inner {
            Inner::Std(lock) => lock.into_inner(),
            Inner::Model(lock, _) => lock.into_inner(),
        }
    }
}

fn map_lock<G, H>(result: LockResult<G>, wrap: impl FnOnce(G) -> H) -> LockResult<H> {
    match result {
        Ok(guard) => Ok(wrap(guard)),
        Err(poisoned) => Err(PoisonError::new(wrap(poisoned.into_inner()))),
    }
}

fn map_try<G, H>(result: TryLockResult<G>, wrap: impl FnOnce(G) -> H) -> TryLockResult<H> {
    match result {
        Ok(guard) => Ok(wrap(guard)),
        Err(TryLockError::Poisoned(poisoned)) => Err(TryLockError::Poisoned(PoisonError::new(
            wrap(poisoned.into_inner()),
        ))),
        Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.inner {
            GuardInner::Std(guard) => guard,
            GuardInner::Model(guard) => guard,
        }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.inner {
            GuardInner::Std(guard) => guard,
            GuardInner::Model(guard) => guard,
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Std(lock) => lock.fmt(f),
            Inner::Model(lock, _) => lock.fmt(f),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
