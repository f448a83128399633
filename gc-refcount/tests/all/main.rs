//! Integration tests of gc-refcount, in one binary (one link, shared helpers).

mod cpython_ports;
