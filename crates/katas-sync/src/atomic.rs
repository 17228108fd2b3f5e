//! Atomics in model builds: `std`'s on ordinary threads, shuttle's inside a model execution.

use std::fmt;

pub use std::sync::atomic::Ordering;

use crate::model;

/// A memory fence; like `std::sync::atomic::fence`.
pub fn fence(order: Ordering) {
    if model::active() {
        shuttle::sync::atomic::fence(order);
    } else {
        std::sync::atomic::fence(order);
    }
}

/// Dispatches a method call to whichever primitive `$self` wraps.
/// An access through `&self` is a scheduling point and touches the model atomic's
/// [`model::Serial`]; one through `&mut self` or `self` is neither (nobody else can reach it).
macro_rules! dispatch {
    (owned $self:expr, $atomic:ident => $call:expr) => {
        match $self {
            Inner::Std($atomic) => $call,
            Inner::Model($atomic, _) => $call,
        }
    };
    ($self:expr, $atomic:ident => $call:expr) => {
        match $self {
            Inner::Std($atomic) => $call,
            Inner::Model($atomic, serial) => {
                serial.touch();
                $call
            }
        }
    };
}

/// The methods every atomic type has, for value type `$value`.
macro_rules! common_methods {
    ($value:ty) => {
        /// A new atomic holding `value`.
        pub fn new(value: $value) -> Self {
            let inner = if model::active() {
                Inner::Model(Model::new(value), model::Serial::next())
            } else {
                Inner::Std(Std::new(value))
            };
            Self { inner }
        }

        /// Loads the value.
        pub fn load(&self, order: Ordering) -> $value {
            dispatch!(&self.inner, atomic => atomic.load(order))
        }

        /// Stores `value`.
        pub fn store(&self, value: $value, order: Ordering) {
            dispatch!(&self.inner, atomic => atomic.store(value, order))
        }

        /// Stores `value`, returning the previous value.
        pub fn swap(&self, value: $value, order: Ordering) -> $value {
            dispatch!(&self.inner, atomic => atomic.swap(value, order))
        }

        /// Stores `new` if the value is `current`; returns the previous value, `Err` if it was
        /// not `current`.
        pub fn compare_exchange(
            &self,
            current: $value,
            new: $value,
            success: Ordering,
            failure: Ordering,
        ) -> Result<$value, $value> {
            dispatch!(&self.inner, atomic => atomic.compare_exchange(current, new, success, failure))
        }

        /// Like [`Self::compare_exchange`], but may fail spuriously (in a loop, cheaper on some
        /// platforms). The model checker's version never fails spuriously.
        pub fn compare_exchange_weak(
            &self,
            current: $value,
            new: $value,
            success: Ordering,
            failure: Ordering,
        ) -> Result<$value, $value> {
            dispatch!(
                &self.inner,
                atomic => atomic.compare_exchange_weak(current, new, success, failure)
            )
        }

        /// Applies `f` in a compare-and-swap loop until it returns `None` or its result is
        /// installed; returns the previous value.
        pub fn fetch_update<F>(
            &self,
            set_order: Ordering,
            fetch_order: Ordering,
            f: F,
        ) -> Result<$value, $value>
        where
            F: FnMut($value) -> Option<$value>,
        {
            dispatch!(&self.inner, atomic => atomic.fetch_update(set_order, fetch_order, f))
        }

        /// Logical or bitwise "and", returning the previous value.
        pub fn fetch_and(&self, value: $value, order: Ordering) -> $value {
            dispatch!(&self.inner, atomic => atomic.fetch_and(value, order))
        }

        /// Logical or bitwise "or", returning the previous value.
        pub fn fetch_or(&self, value: $value, order: Ordering) -> $value {
            dispatch!(&self.inner, atomic => atomic.fetch_or(value, order))
        }

        /// Logical or bitwise "xor", returning the previous value.
        pub fn fetch_xor(&self, value: $value, order: Ordering) -> $value {
            dispatch!(&self.inner, atomic => atomic.fetch_xor(value, order))
        }

        /// The value, through `&mut self`.
        pub fn get_mut(&mut self) -> &mut $value {
            dispatch!(owned &mut self.inner, atomic => atomic.get_mut())
        }

        /// Consumes the atomic, returning its value.
        pub fn into_inner(self) -> $value {
            dispatch!(owned self.inner, atomic => atomic.into_inner())
        }
    };
}

/// The traits every atomic type implements.
macro_rules! common_traits {
    ($name:ident, $value:ty) => {
        impl Default for $name {
            fn default() -> Self {
                Self::new(<$value>::default())
            }
        }

        impl From<$value> for $name {
            fn from(value: $value) -> Self {
                Self::new(value)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.load(Ordering::Relaxed).fmt(f)
            }
        }
    };
}

/// An atomic integer type with `std`'s API.
macro_rules! atomic_int {
    ($name:ident, $value:ty, $module:ident) => {
        mod $module {
            use super::*;

            type Std = std::sync::atomic::$name;
            type Model = shuttle::sync::atomic::$name;

            pub(super) enum Inner {
                Std(Std),
                Model(Model, model::Serial),
            }

            #[doc = concat!("An integer shared between threads, like `std::sync::atomic::", stringify!($name), "`.")]
            pub struct $name {
                inner: Inner,
            }

            impl $name {
                common_methods!($value);

                /// Adds `value` (wrapping), returning the previous value.
                pub fn fetch_add(&self, value: $value, order: Ordering) -> $value {
                    dispatch!(&self.inner, atomic => atomic.fetch_add(value, order))
                }

                /// Subtracts `value` (wrapping), returning the previous value.
                pub fn fetch_sub(&self, value: $value, order: Ordering) -> $value {
                    dispatch!(&self.inner, atomic => atomic.fetch_sub(value, order))
                }

                /// Stores the maximum of the value and `value`, returning the previous value.
                pub fn fetch_max(&self, value: $value, order: Ordering) -> $value {
                    dispatch!(&self.inner, atomic => atomic.fetch_max(value, order))
                }

                /// Stores the minimum of the value and `value`, returning the previous value.
                pub fn fetch_min(&self, value: $value, order: Ordering) -> $value {
                    dispatch!(&self.inner, atomic => atomic.fetch_min(value, order))
                }
            }

            common_traits!($name, $value);
        }
        pub use $module::$name;
    };
}

atomic_int!(AtomicU8, u8, atomic_u8);
atomic_int!(AtomicU16, u16, atomic_u16);
atomic_int!(AtomicU32, u32, atomic_u32);
atomic_int!(AtomicU64, u64, atomic_u64);
atomic_int!(AtomicUsize, usize, atomic_usize);
atomic_int!(AtomicI8, i8, atomic_i8);
atomic_int!(AtomicI16, i16, atomic_i16);
atomic_int!(AtomicI32, i32, atomic_i32);
atomic_int!(AtomicI64, i64, atomic_i64);
atomic_int!(AtomicIsize, isize, atomic_isize);

mod atomic_bool {
    use super::*;

    type Std = std::sync::atomic::AtomicBool;
    type Model = shuttle::sync::atomic::AtomicBool;

    pub(super) enum Inner {
        Std(Std),
        Model(Model, model::Serial),
    }

    /// A boolean shared between threads, like `std::sync::atomic::AtomicBool`.
    pub struct AtomicBool {
        inner: Inner,
    }

    impl AtomicBool {
        common_methods!(bool);
    }

    common_traits!(AtomicBool, bool);
}
pub use atomic_bool::AtomicBool;
