//! Integration tests of gc-refcount, in one binary (one link, shared helpers).

// The configuration list and its macros first: the generic suites below use them.
#[macro_use]
mod configurations;
mod cpython_ports;
mod deep;
mod disciplines;
mod drop_safety;
mod generational;
mod heap_api;
mod mark_sweep;
mod oracle;
mod pool_heap;
mod presets;
