//! Blocking work that must not run on the caller's tokio runtime.
//!
//! The testkit's API is synchronous, yet tests call it from inside `#[tokio::test]`, where blocking
//! on another runtime (our SQL, testcontainers' sync runner) panics with "Cannot start a runtime
//! from within a runtime". Such work runs on a scoped thread of its own, which holds no runtime.

use std::future::Future;
use std::thread;

/// Runs `work` on a thread of its own and returns its result; a panic in it is resumed here.
pub(crate) fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// Drives `future` to completion on a fresh current-thread runtime, off the caller's runtime.
pub(crate) fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    off_runtime(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread tokio runtime builds")
            .block_on(future)
    })
}
