//! Integration tests of gc-refcount, in one binary (one link, shared helpers).

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
