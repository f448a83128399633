//! [`GcAny`]: a strong handle whose type is known only at run time, as `gc::get_referents`
//! returns them.

use std::fmt;
use std::ptr::NonNull;

use gc_core::header::flags;
use gc_core::{Header, Trace, Visitor};

use crate::handle::Gc;
use crate::object;

/// A strong handle to an object of any type. Like a `PyObject*`: it keeps the object alive, tells
/// its type name, and converts back to a typed [`Gc`] with [`GcAny::downcast`].
pub struct GcAny {
    object: NonNull<Header>,
}

impl GcAny {
    /// Takes a new strong reference to `object`.
    ///
    /// # Safety
    ///
    /// `object` is live (some strong reference keeps it so for the duration of the call).
    pub(crate) unsafe fn retain(object: NonNull<Header>) -> GcAny {
        // SAFETY: the caller guarantees the object is live.
        unsafe { object::retain(object) };
        GcAny { object }
    }

    fn header(&self) -> &Header {
        // SAFETY: this handle owns a strong reference.
        unsafe { Header::from_ptr(self.object) }
    }

    /// The type name of the value (`std::any::type_name`).
    pub fn type_name(&self) -> &'static str {
        self.header().type_info().name()
    }

    /// The object's address: an identity, like Python's `id()`.
    pub fn id(&self) -> usize {
        self.object.as_ptr() as usize
    }

    /// The objects this one references directly, with multiplicity (`gc.get_referents`).
    pub fn referents(&self) -> Vec<GcAny> {
        let mut referents = Referents(Vec::new());
        // SAFETY: this handle keeps the object live; `Header::trace` checks the value is there.
        unsafe { Header::trace(self.object, &mut referents) };
        referents.0
    }

    /// Whether the object is tracked by the cycle collector.
    pub fn is_tracked(&self) -> bool {
        self.header().has(flags::TRACKED)
    }

    /// The strong count.
    pub fn strong_count(&self) -> usize {
        self.header().strong()
    }

    /// Whether this handle and `other` point to the same object.
    pub fn ptr_eq<T: Trace + 'static>(&self, other: &Gc<T>) -> bool {
        self.object == Gc::object(other)
    }

    /// The typed handle, if the value is a `T`; otherwise this handle back.
    pub fn downcast<T: Trace + 'static>(self) -> Result<Gc<T>, GcAny> {
        if (self.header().type_info().type_id)() == std::any::TypeId::of::<T>() {
            let object = self.object;
            std::mem::forget(self);
            // SAFETY: the object is an `ObjectBox<T>` (same TypeId) and this handle's strong
            // reference moves to the typed handle.
            Ok(unsafe { Gc::from_header(object) })
        } else {
            Err(self)
        }
    }
}

/// Collects edges as handles.
pub(crate) struct Referents(pub(crate) Vec<GcAny>);

impl Visitor for Referents {
    fn visit(&mut self, edge: gc_core::Edge) {
        // SAFETY: an edge is backed by a strong count held by the traced value, which the caller
        // keeps alive for the whole trace.
        self.0.push(unsafe { GcAny::retain(edge) });
    }
}

impl<T: Trace + 'static> From<Gc<T>> for GcAny {
    fn from(handle: Gc<T>) -> Self {
        let object = Gc::object(&handle);
        std::mem::forget(handle);
        GcAny { object }
    }
}

impl Clone for GcAny {
    fn clone(&self) -> Self {
        // SAFETY: this handle keeps the object live.
        unsafe { GcAny::retain(self.object) }
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        // SAFETY: this handle owns one strong reference and gives it up.
        unsafe { object::release(self.object) }
    }
}

impl fmt::Debug for GcAny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GcAny({} @ {:p})", self.type_name(), self.object)
    }
}

// SAFETY: one strong edge, reported once.
unsafe impl Trace for GcAny {
    const MAY_CONTAIN_GC: bool = true;

    fn trace(&self, visitor: &mut dyn Visitor) {
        visitor.visit(self.object);
    }
}
