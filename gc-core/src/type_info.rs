//! The per-type static record (CPython's `PyTypeObject`, reduced to what a collector needs) and
//! the layout of a managed object.

use std::alloc::Layout;
use std::any::TypeId;
use std::mem::{offset_of, ManuallyDrop};
use std::ptr::NonNull;

use crate::header::Header;
use crate::mark::HeaderNode;
use crate::trace::{Edge, Trace, Visitor};
use crate::trial_visitors::{VisitDecref, VisitReachable};

/// What the collector knows about a managed type, shared by every object of that type.
///
/// One `'static` record exists per type `T` ([`ObjectBox::<T>::TYPE_INFO`](ObjectBox::TYPE_INFO));
/// every header points to its record, so type-erased code (detectors, `get_referents`, the
/// free path) can trace, drop and free any object.
#[derive(Debug)]
pub struct TypeInfo {
    /// `std::any::type_name` of the value type (a function: `type_name` is not `const`).
    pub type_name: fn() -> &'static str,
    /// Layout of the whole allocation: header and value.
    pub layout: Layout,
    /// Whether objects of this type are tracked by the cycle collector (`T::MAY_CONTAIN_GC`).
    pub tracked: bool,
    /// Reports the value's edges. Called through [`Header::trace`], which checks the value is
    /// still there.
    pub trace: unsafe fn(NonNull<Header>, &mut dyn Visitor),
    /// [`trace`](Self::trace) with CPython's `visit_decref` compiled in (no call per edge). Called
    /// through [`Header::trace_decref`].
    pub trace_decref: unsafe fn(NonNull<Header>, u32),
    /// [`trace`](Self::trace) with CPython's `visit_reachable` compiled in. Called through
    /// [`Header::trace_reachable`].
    pub trace_reachable: unsafe fn(NonNull<Header>, &mut VisitReachable<'_>),
    /// [`trace`](Self::trace) into a vector: pushes every edge onto it. Called through
    /// [`Header::trace_into`].
    pub trace_into: unsafe fn(NonNull<Header>, &mut Vec<Edge>),
    /// [`trace`](Self::trace) into a vector of marking nodes, for the finger walk. Called through
    /// [`Header::trace_nodes`].
    pub trace_nodes: unsafe fn(NonNull<Header>, &mut Vec<HeaderNode>),
    /// Drops the value in place (not the memory).
    pub drop_value: unsafe fn(NonNull<Header>),
    /// The value type's `TypeId`, for downcasting type-erased handles.
    pub type_id: fn() -> TypeId,
}

impl TypeInfo {
    /// The value type's name.
    pub fn name(&self) -> &'static str {
        (self.type_name)()
    }
}

/// The layout of a managed object: the header, then the value.
#[repr(C)]
pub struct ObjectBox<T> {
    header: Header,
    value: ManuallyDrop<T>,
}

impl<T: Trace + 'static> ObjectBox<T> {
    /// The static record for `T`.
    pub const TYPE_INFO: &'static TypeInfo = &TypeInfo {
        type_name: std::any::type_name::<T>,
        layout: Layout::new::<ObjectBox<T>>(),
        tracked: T::MAY_CONTAIN_GC,
        trace: Self::trace_erased,
        trace_decref: Self::trace_decref_erased,
        trace_reachable: Self::trace_reachable_erased,
        trace_into: Self::trace_into_erased,
        trace_nodes: Self::trace_nodes_erased,
        drop_value: Self::drop_erased,
        type_id: TypeId::of::<T>,
    };

    /// A new object with a fresh header (strong count 1, untracked) holding `value`.
    pub fn new(value: T) -> Self {
        ObjectBox {
            header: Header::new(Self::TYPE_INFO),
            value: ManuallyDrop::new(value),
        }
    }

    /// The value inside the object whose header is `header`.
    ///
    /// # Safety
    ///
    /// `header` is the header of a live (not freed) `ObjectBox<T>` for this very `T`.
    #[inline(always)]
    pub unsafe fn value_ptr(header: NonNull<Header>) -> NonNull<T> {
        // SAFETY: the header is the first field of a `#[repr(C)]` `ObjectBox<T>`, so the pointer
        // to it (derived from the allocation, with its provenance) is the pointer to the box, and
        // the value sits `offset_of!(value)` bytes further inside the same allocation.
        unsafe {
            header
                .cast::<u8>()
                .add(offset_of!(ObjectBox<T>, value))
                .cast::<T>()
        }
    }

    /// # Safety
    /// `header` is a live `ObjectBox<T>` whose value is initialised.
    unsafe fn trace_erased(header: NonNull<Header>, visitor: &mut dyn Visitor) {
        // SAFETY: the caller (through `Header::trace`) guarantees the value is initialised and
        // readable; `TYPE_INFO` pairs this fn with objects of type `T` only.
        let value = unsafe { Self::value_ptr(header).as_ref() };
        value.trace(visitor);
    }

    /// # Safety
    /// As [`Self::trace_erased`].
    unsafe fn trace_decref_erased(header: NonNull<Header>, below: u32) {
        // SAFETY: as in `trace_erased`.
        let value = unsafe { Self::value_ptr(header).as_ref() };
        value.trace(&mut VisitDecref {
            source: header,
            below,
        });
    }

    /// # Safety
    /// As [`Self::trace_erased`].
    unsafe fn trace_reachable_erased(header: NonNull<Header>, visitor: &mut VisitReachable<'_>) {
        // SAFETY: as in `trace_erased`.
        let value = unsafe { Self::value_ptr(header).as_ref() };
        value.trace(visitor);
    }

    /// # Safety
    /// As [`Self::trace_erased`].
    unsafe fn trace_into_erased(header: NonNull<Header>, edges: &mut Vec<Edge>) {
        // SAFETY: as in `trace_erased`.
        let value = unsafe { Self::value_ptr(header).as_ref() };
        value.trace(edges);
    }

    /// # Safety
    /// As [`Self::trace_erased`].
    unsafe fn trace_nodes_erased(header: NonNull<Header>, nodes: &mut Vec<HeaderNode>) {
        // SAFETY: as in `trace_erased`.
        let value = unsafe { Self::value_ptr(header).as_ref() };
        value.trace(nodes);
    }

    /// # Safety
    /// `header` is a live `ObjectBox<T>` whose value is initialised and is dropped exactly once.
    unsafe fn drop_erased(header: NonNull<Header>) {
        // SAFETY: the caller guarantees the value is initialised and not dropped before; after
        // this call it flags the value as gone so no one reads it again.
        unsafe { std::ptr::drop_in_place(Self::value_ptr(header).as_ptr()) }
    }
}
