//! A global allocator that counts allocations and reallocations per thread and forwards
//! everything to `System`: allocation budgets as counts, not timings (deterministic).
//! Included with `#[path]` by the tests that count (`stdout_allocations.rs` here,
//! `integrations/axum/tests/allocations.rs`), each of which installs it with
//! `#[global_allocator] static GLOBAL: Counting = Counting;`. A global allocator is an
//! `unsafe impl`, so the including file allows `unsafe_code`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts on the calling thread, forwards to `System`.
pub(crate) struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to `System` unchanged; the counter is a `const`
// thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and reallocations made on this thread so far.
pub(crate) fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}
