//! A value set on the thread while one future is polled, for code deep inside the call to read
//! without it being passed through every call: the run's journal (the role adapters record
//! their calls in it) and a shadow run's tape (the runtime's HTTP and SQL imports).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::LocalKey;

/// The thread-local slot a scoped value lives in.
pub type Slot<T> = LocalKey<RefCell<Option<T>>>;

/// `work`, with `value` in `slot` while it is polled (the outer value back after each poll).
pub struct Scoped<T: 'static, F> {
    slot: &'static Slot<T>,
    value: T,
    work: Pin<Box<F>>,
}

impl<T: 'static, F> Scoped<T, F> {
    pub fn new(slot: &'static Slot<T>, value: T, work: F) -> Self {
        Self {
            slot,
            value,
            work: Box::pin(work),
        }
    }
}

/// The value in `slot` now, if any.
pub fn current<T: Clone + 'static>(slot: &'static Slot<T>) -> Option<T> {
    slot.with(|c| c.borrow().clone())
}

/// Puts the outer value back when a poll ends, even by a panic.
struct Restore<T: 'static> {
    slot: &'static Slot<T>,
    outer: Option<T>,
}

impl<T: 'static> Drop for Restore<T> {
    fn drop(&mut self) {
        let outer = self.outer.take();
        self.slot.with(|c| *c.borrow_mut() = outer);
    }
}

impl<T: Clone + Unpin + 'static, F: Future> Future for Scoped<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let outer = this.slot.with(|c| c.replace(Some(this.value.clone())));
        let _restore = Restore {
            slot: this.slot,
            outer,
        };
        this.work.as_mut().poll(cx)
    }
}
