//! The refcount-discipline axis: what happens when a count is decremented.
//!
//! | discipline | decrement to zero | decrement to non-zero |
//! |---|---|---|
//! | [`Immediate`](Discipline::Immediate) (CPython) | drop and free at once | nothing |
//! | [`Buffered`](Discipline::Buffered) (Bacon–Rajan 2001) | drop and free at once (memory kept while buffered) | record the object once as a cycle candidate |
//! | [`Deferred`](Discipline::Deferred) (Deutsch–Bobrow) | nothing: the next collection frees it | nothing |
//!
//! Unlike the other axes this one is an enum, not a trait: the decrement is inlined into every
//! handle's `Drop`, so it cannot afford a call through a trait object, and a heap is chosen at run
//! time. The choice reaches the decrement as a header bit set at allocation
//! ([`BUFFER_ON_DECREMENT`](crate::header::flags::BUFFER_ON_DECREMENT)) and reaches the rarer
//! free-at-zero path through the heap. Configurations that do not buffer pay one test of a header
//! bit on a decrement that does not reach zero.

/// What a decrement does. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Discipline {
    /// Free at zero; nothing else (CPython).
    #[default]
    Immediate,
    /// Free at zero; a decrement to non-zero buffers the object as a cycle candidate (Bacon–Rajan).
    Buffered,
    /// Never free at zero: counts only tell the detector which objects are referenced from
    /// outside; every object is freed by a collection.
    Deferred,
}

impl Discipline {
    /// The name used in configuration names.
    pub fn name(self) -> &'static str {
        match self {
            Discipline::Immediate => "immediate",
            Discipline::Buffered => "buffered",
            Discipline::Deferred => "deferred",
        }
    }

    /// Parses [`Discipline::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Discipline::Immediate,
            Discipline::Buffered,
            Discipline::Deferred,
        ]
        .into_iter()
        .find(|d| d.name() == name)
    }
}
