//! Tracing: how the collector finds the `Gc` edges inside a value.
//!
//! A cycle detector never looks at a value's bytes. It asks the value's [`Trace`] impl to report
//! every managed pointer the value holds, one [`Edge`] at a time, to a [`Visitor`]. This is
//! CPython's `tp_traverse` with its `visitproc`.
//!
//! [`Trace::MAY_CONTAIN_GC`] answers, at compile time, whether a type can hold a managed pointer
//! at all. Types for which it is `false` are *leaves* (numbers, `String`, `Vec<u8>`): their objects
//! are never tracked and a container of leaves does not even iterate over them while tracing.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::header::Header;

/// One managed pointer found while tracing: the header of the object it points to.
pub type Edge = NonNull<Header>;

/// Receives the edges a [`Trace`] impl reports.
///
/// Collectors implement it (trial deletion subtracts one from the target's `gc_refs`; a marker
/// pushes the target on its stack); so does `gc::get_referents`.
pub trait Visitor {
    /// Called once for every managed pointer held by the traced value, with multiplicity: a value
    /// that holds two handles to the same object reports that edge twice.
    fn visit(&mut self, edge: Edge);

    /// Called once for every handle to a *thread-shared* tracked object (a
    /// `gc_refcount::sync::Gc` whose value may hold handles) that the traced value holds, with
    /// multiplicity. `object` is the object's address, meaningful only to the shared collector
    /// that reported it. Thread-local collectors ignore these edges (the default): a shared
    /// object is outside every thread-local heap, as an `Arc` is.
    #[inline]
    fn visit_shared(&mut self, object: NonNull<u8>) {
        let _ = object;
    }
}

/// A vector collects the edges it is shown, in order, after those it already holds: a pass that
/// does real work per edge (Bacon–Rajan's colouring walks) traces an object into a reusable
/// buffer, or straight onto its own stack, through the type's monomorphised
/// [`TypeInfo::trace_into`](crate::TypeInfo::trace_into), then loops over the edges with no
/// indirect call per edge.
impl Visitor for Vec<Edge> {
    #[inline(always)]
    fn visit(&mut self, edge: Edge) {
        self.push(edge);
    }
}

/// A value whose managed pointers (`Gc` fields) the collector can enumerate.
///
/// Write it with `#[derive(Trace)]`; implement it by hand only for a container the derive cannot
/// see through.
///
/// There is deliberately no impl for `Rc`, `Arc`, `Cell` or `RefCell`: a `Gc` inside an `Rc`
/// shared by two objects would be reported by both while it holds one count (a false edge), and a
/// `RefCell` can be mutably borrowed while the collector reads it. Use `Gc` and `GcCell` instead.
///
/// # Safety
///
/// The collector frees memory on the strength of what [`Trace::trace`] reports, so an implementer
/// promises:
///
/// 1. **Every edge, exactly once per handle.** `trace` calls [`Visitor::visit`] once for every
///    strong managed handle (`Gc`) the value owns — directly or through fields, boxes and
///    collections — and for nothing else: not for `Weak` handles, not for a handle the value does
///    not own, not twice for one handle. The same holds for [`Visitor::visit_shared`] and
///    thread-shared handles.
///    - *A missed edge* makes its target look referenced from outside the examined set. The target
///      and everything it reaches survive: a cycle through that edge leaks. Memory-safe, but a leak.
///    - *A false edge* (reported but not backed by a strong count, or reported twice) makes the
///      collector subtract a reference that does not exist. An object still reachable from a live
///      handle can then be judged garbage and freed while that handle points to it: a
///      use-after-free. The detectors in this workspace catch the cases where a count would go
///      below zero and panic, but they cannot catch them all.
/// 2. **Deterministic and side-effect free.** During one collection `trace` may be called several
///    times on the same value and must report the same edges each time. It must not create, clone
///    or drop a managed handle, allocate managed objects, borrow a `GcCell` mutably, or panic.
///    It may run on a marking thread while the owning thread is blocked in the collection, so it
///    must not write any memory (not even a `RefCell` borrow flag) nor depend on which thread
///    runs it (no thread-locals).
/// 3. **`MAY_CONTAIN_GC` is truthful.** It is `false` only if no value of the type can ever hold a
///    managed handle. A type that says `false` is never tracked, so a cycle through it is never
///    found (a leak), and containers skip tracing its elements (missed edges).
pub unsafe trait Trace {
    /// Whether a value of this type can hold a managed pointer. `false` makes the type a *leaf*:
    /// its objects are not tracked by the cycle collector and cost nothing at collection time.
    const MAY_CONTAIN_GC: bool;

    /// Reports every managed pointer this value holds to `visitor` (see the trait's safety rules).
    fn trace(&self, visitor: &mut dyn Visitor);
}

/// Implements [`Trace`] for types that never hold a managed pointer.
macro_rules! leaf_trace {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: the type holds no managed pointer, so reporting no edge is exact.
        unsafe impl Trace for $ty {
            const MAY_CONTAIN_GC: bool = false;
            #[inline]
            fn trace(&self, _visitor: &mut dyn Visitor) {}
        }
    )*};
}

leaf_trace!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    std::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::path::Path,
    std::path::PathBuf,
    std::ffi::OsStr,
    std::ffi::OsString,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::num::NonZeroIsize,
    std::any::TypeId,
);

// SAFETY: a shared reference with a 'static lifetime is not owned, so it reports no edge;
// `'static` data cannot hold a handle that the collector counts as owned by this value.
unsafe impl<T: ?Sized + 'static> Trace for &'static T {
    const MAY_CONTAIN_GC: bool = false;
    #[inline]
    fn trace(&self, _visitor: &mut dyn Visitor) {}
}

// SAFETY: `PhantomData` holds nothing.
unsafe impl<T: ?Sized> Trace for PhantomData<T> {
    const MAY_CONTAIN_GC: bool = false;
    #[inline]
    fn trace(&self, _visitor: &mut dyn Visitor) {}
}

// SAFETY: a box owns its content, so the content's edges are the box's edges, reported once.
unsafe impl<T: Trace + ?Sized> Trace for Box<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        if T::MAY_CONTAIN_GC {
            (**self).trace(visitor);
        }
    }
}

// SAFETY: an option owns its content; `None` holds nothing.
unsafe impl<T: Trace> Trace for Option<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        if let Some(value) = self {
            value.trace(visitor);
        }
    }
}

// SAFETY: a result owns whichever side it holds.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC || E::MAY_CONTAIN_GC;
    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        match self {
            Ok(value) => value.trace(visitor),
            Err(error) => error.trace(visitor),
        }
    }
}

// SAFETY: a slice owns each of its elements once.
unsafe impl<T: Trace> Trace for [T] {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        if T::MAY_CONTAIN_GC {
            for element in self {
                element.trace(visitor);
            }
        }
    }
}

// SAFETY: an array owns each of its elements once.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        self.as_slice().trace(visitor);
    }
}

/// Implements [`Trace`] for a collection whose `iter()` yields each owned element once.
macro_rules! sequence_trace {
    ($($collection:ident),* $(,)?) => {$(
        // SAFETY: the collection owns each element once and `iter` visits each once.
        unsafe impl<T: Trace> Trace for $collection<T> {
            const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
            #[inline]
            fn trace(&self, visitor: &mut dyn Visitor) {
                if T::MAY_CONTAIN_GC {
                    for element in self.iter() {
                        element.trace(visitor);
                    }
                }
            }
        }
    )*};
}

sequence_trace!(Vec, VecDeque, LinkedList, BinaryHeap, BTreeSet);

// SAFETY: the set owns each element once; the hasher holds no managed pointer by contract of
// `S: 'static` state types used with maps (it is not traced).
unsafe impl<T: Trace, S> Trace for HashSet<T, S> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        if T::MAY_CONTAIN_GC {
            for element in self.iter() {
                element.trace(visitor);
            }
        }
    }
}

/// Implements [`Trace`] for a map that owns each key and each value once.
macro_rules! map_trace {
    ($map:ident $(, $hasher:ident)?) => {
        // SAFETY: the map owns each key and each value once and `iter` visits each pair once.
        unsafe impl<K: Trace, V: Trace $(, $hasher)?> Trace for $map<K, V $(, $hasher)?> {
            const MAY_CONTAIN_GC: bool = K::MAY_CONTAIN_GC || V::MAY_CONTAIN_GC;
            #[inline]
            fn trace(&self, visitor: &mut dyn Visitor) {
                if Self::MAY_CONTAIN_GC {
                    for (key, value) in self.iter() {
                        key.trace(visitor);
                        value.trace(visitor);
                    }
                }
            }
        }
    };
}

map_trace!(HashMap, S);
map_trace!(BTreeMap);

/// Implements [`Trace`] for tuples of the given arity.
macro_rules! tuple_trace {
    ($(($($name:ident),+)),* $(,)?) => {$(
        // SAFETY: a tuple owns each of its fields once.
        unsafe impl<$($name: Trace),+> Trace for ($($name,)+) {
            const MAY_CONTAIN_GC: bool = false $(|| $name::MAY_CONTAIN_GC)+;
            #[inline]
            #[allow(non_snake_case)]
            fn trace(&self, visitor: &mut dyn Visitor) {
                let ($($name,)+) = self;
                $($name.trace(visitor);)+
            }
        }
    )*};
}

tuple_trace!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
    (A, B, C, D, E, F, G),
    (A, B, C, D, E, F, G, H),
    (A, B, C, D, E, F, G, H, I),
    (A, B, C, D, E, F, G, H, I, J),
    (A, B, C, D, E, F, G, H, I, J, K),
    (A, B, C, D, E, F, G, H, I, J, K, L),
);

// Leaves are known at compile time: if one of these became a container, the build would fail.
const _: () = {
    assert!(!String::MAY_CONTAIN_GC);
    assert!(!<Vec<u8>>::MAY_CONTAIN_GC);
    assert!(!<HashMap<String, Vec<(u32, f64)>>>::MAY_CONTAIN_GC);
    assert!(!<Option<Box<[char; 4]>>>::MAY_CONTAIN_GC);
};
