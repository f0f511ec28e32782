//! Per-thread state that lives for one write, or for one group-commit batch: audit events kept
//! until the commit ([`crate::tickets::events`]), the SLA policies read once per batch
//! ([`crate::sla::repo::policies`]). A write runs synchronously on one thread from the start of
//! its transaction to its commit, so a thread-local is its natural home.
//!
//! The outermost [`WriteScope::open`] on a thread owns the state; an inner one joins it. Dropping
//! the owner discards the state: that is what a rollback needs.

use std::cell::RefCell;
use std::thread::LocalKey;

pub type Slot<T> = LocalKey<RefCell<Option<T>>>;

#[must_use = "the state lives only as long as the scope"]
pub struct WriteScope<T: 'static> {
    slot: &'static Slot<T>,
    owner: bool,
}

impl<T: Default + 'static> WriteScope<T> {
    pub fn open(slot: &'static Slot<T>) -> WriteScope<T> {
        let owner = slot.with(|s| {
            let mut s = s.borrow_mut();
            if s.is_some() {
                false
            } else {
                *s = Some(T::default());
                true
            }
        });
        WriteScope { slot, owner }
    }

    /// True for the outermost scope, which owns the state.
    pub fn owner(&self) -> bool {
        self.owner
    }
}

impl<T: 'static> Drop for WriteScope<T> {
    fn drop(&mut self) {
        if self.owner {
            self.slot.with(|s| *s.borrow_mut() = None);
        }
    }
}

/// Runs `f` on the state of the scope open on this thread, if any.
pub fn with<T: 'static, R>(slot: &'static Slot<T>, f: impl FnOnce(Option<&mut T>) -> R) -> R {
    slot.with(|s| f(s.borrow_mut().as_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static N: RefCell<Option<u32>> = const { RefCell::new(None) };
    }

    #[test]
    fn outermost_owns_inner_joins_drop_discards() {
        assert_eq!(with(&N, |n| n.copied()), None);
        let outer = WriteScope::open(&N);
        assert!(outer.owner());
        with(&N, |n| *n.unwrap() += 1);
        {
            let inner = WriteScope::open(&N);
            assert!(!inner.owner());
            with(&N, |n| *n.unwrap() += 1);
        }
        assert_eq!(with(&N, |n| n.copied()), Some(2), "an inner scope does not discard");
        drop(outer);
        assert_eq!(with(&N, |n| n.copied()), None);
    }
}
