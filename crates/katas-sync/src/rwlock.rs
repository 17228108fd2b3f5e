//! `RwLock` in model builds: `std`'s on ordinary threads, shuttle's inside a model execution.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

use crate::model;

/// A reader-writer lock with `std::sync::RwLock`'s API (see the crate docs for when it is which
/// primitive).
pub struct RwLock<T> {
    inner: Inner<T>,
}

enum Inner<T> {
    Std(std::sync::RwLock<T>),
    Model(shuttle::sync::RwLock<T>, model::Serial),
}

/// Shared access to a read-locked [`RwLock`]; unlocks on drop.
pub struct RwLockReadGuard<'a, T> {
    inner: ReadInner<'a, T>,
}

enum ReadInner<'a, T> {
    Std(std::sync::RwLockReadGuard<'a, T>),
    Model(shuttle::sync::RwLockReadGuard<'a, T>),
}

/// Exclusive access to a write-locked [`RwLock`]; unlocks on drop.
pub struct RwLockWriteGuard<'a, T> {
    inner: WriteInner<'a, T>,
}

enum WriteInner<'a, T> {
    Std(std::sync::RwLockWriteGuard<'a, T>),
    Model(shuttle::sync::RwLockWriteGuard<'a, T>),
}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    pub fn new(value: T) -> Self {
        let inner = if model::active() {
            Inner::Model(shuttle::sync::RwLock::new(value), model::Serial::next())
        } else {
            Inner::Std(std::sync::RwLock::new(value))
        };
        Self { inner }
    }

    /// Blocks until shared access is granted; like `std::sync::RwLock::read`.
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let read = |inner| RwLockReadGuard { inner };
        match &self.inner {
            Inner::Std(lock) => map_lock(lock.read(), |g| read(ReadInner::Std(g))),
            Inner::Model(lock, serial) => {
                serial.touch();
                map_lock(lock.read(), |g| read(ReadInner::Model(g)))
            }
        }
    }

    /// Blocks until exclusive access is granted; like `std::sync::RwLock::write`.
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let write = |inner| RwLockWriteGuard { inner };
        match &self.inner {
            Inner::Std(lock) => map_lock(lock.write(), |g| write(WriteInner::Std(g))),
            Inner::Model(lock, serial) => {
                serial.touch();
                map_lock(lock.write(), |g| write(WriteInner::Model(g)))
            }
        }
    }

    /// Takes shared access if no writer holds the lock; like `std::sync::RwLock::try_read`.
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let read = |inner| RwLockReadGuard { inner };
        match &self.inner {
            Inner::Std(lock) => map_try(lock.try_read(), |g| read(ReadInner::Std(g))),
            Inner::Model(lock, serial) => {
                serial.touch();
                map_try(lock.try_read(), |g| read(ReadInner::Model(g)))
            }
        }
    }

    /// Takes exclusive access if nobody holds the lock; like `std::sync::RwLock::try_write`.
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let write = |inner| RwLockWriteGuard { inner };
        match &self.inner {
            Inner::Std(lock) => map_try(lock.try_write(), |g| write(WriteInner::Std(g))),
            Inner::Model(lock, serial) => {
                serial.touch();
                map_try(lock.try_write(), |g| write(WriteInner::Model(g)))
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

    /// Consumes the lock, returning its value.
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

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.inner {
            ReadInner::Std(guard) => guard,
            ReadInner::Model(guard) => guard,
        }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.inner {
            WriteInner::Std(guard) => guard,
            WriteInner::Model(guard) => guard,
        }
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.inner {
            WriteInner::Std(guard) => guard,
            WriteInner::Model(guard) => guard,
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Std(lock) => lock.fmt(f),
            Inner::Model(lock, _) => lock.fmt(f),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
