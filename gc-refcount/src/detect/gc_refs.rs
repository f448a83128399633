//! Which examined objects are referenced from outside the examined set: CPython's `update_refs`
//! and `subtract_refs`.
//!
//! For every examined object, copy its strong count into the scratch word (`gc_refs`), then visit
//! every edge between examined objects and subtract one from its target. What is left in
//! `gc_refs` counts the references that come from outside the set — live handles, objects of
//! older generations, untracked objects. An object with `gc_refs > 0` is a *root*: it is alive, and
//! so is everything it reaches. Trial deletion continues from here; a tracing detector marks from
//! these roots.

use std::ptr::NonNull;

use gc_core::header::flags;
use gc_core::{Edge, Header, ObjectList, Visitor};

/// Sets [`flags::EXAMINED`] on every member of `examined` and leaves its external reference count
/// (`gc_refs`) in the scratch word. Returns the number of members.
///
/// # Panics
///
/// If some `Trace` impl reports more edges to an object than its strong count holds (a false
/// edge, see the safety rules of [`gc_core::Trace`]). The caller must then restore the marks.
///
/// # Safety
///
/// Every member of `examined` is live, and the strong counts are exact for the duration.
pub unsafe fn compute(examined: &ObjectList) -> usize {
    let mut members = 0;
    // update_refs
    // SAFETY: members are live (caller's promise).
    unsafe {
        examined.for_each(|object| {
            let header = Header::from_ptr(object);
            header.set(flags::EXAMINED);
            header.set_scratch(header.strong());
            members += 1;
        })
    };
    // subtract_refs
    let mut visitor = SubtractInternal { source: None };
    // SAFETY: as above; `Header::trace` reads values that are initialised (tracked objects in a
    // list are never dropped).
    unsafe {
        examined.for_each(|object| {
            visitor.source = Some(object);
            Header::trace(object, &mut visitor);
        })
    };
    members
}

/// Whether `object`, after [`compute`], is referenced from outside the examined set.
///
/// # Safety
///
/// `object` is live.
#[inline]
pub unsafe fn is_root(object: NonNull<Header>) -> bool {
    // SAFETY: the caller guarantees the object is live.
    unsafe { Header::from_ptr(object) }.scratch() > 0
}

struct SubtractInternal {
    source: Option<Edge>,
}

impl Visitor for SubtractInternal {
    #[inline]
    fn visit(&mut self, edge: Edge) {
        // SAFETY: an edge reported by `Trace` is backed by a strong count, so its target is live.
        let target = unsafe { Header::from_ptr(edge) };
        if target.has(flags::EXAMINED) {
            let refs = target.scratch();
            if refs == 0 {
                false_edge(self.source, target);
            }
            target.set_scratch(refs - 1);
        }
    }
}

#[cold]
fn false_edge(source: Option<Edge>, target: &Header) -> ! {
    let source = source
        // SAFETY: the source is the live object being traced.
        .map(|s| unsafe { Header::from_ptr(s) }.type_info().name())
        .unwrap_or("?");
    panic!(
        "gclab: the Trace impl of {source} reported more references to a {} than its strong \
         count holds (a false edge; see the safety rules of gc_core::Trace). Collection aborted; \
         nothing was freed.",
        target.type_info().name()
    )
}
