//! [`GcCell<T>`]: interior mutability for values inside `Gc`, like `RefCell`.

use std::cell::{BorrowError, BorrowMutError, Ref, RefCell, RefMut};
use std::fmt;

use gc_core::{Trace, Visitor};

/// A `RefCell` that the collector can trace. Use it for every field that changes after the object
/// is built and may hold a `Gc`.
///
/// While the cell is mutably borrowed the collector cannot read it; it then treats the cell's
/// contents as referenced from outside (it skips the cell's edges), which can only delay the
/// collection of a cycle through it, never free something reachable.
pub struct GcCell<T> {
    cell: RefCell<T>,
}

impl<T> GcCell<T> {
    /// A new cell holding `value`.
    pub const fn new(value: T) -> Self {
        GcCell {
            cell: RefCell::new(value),
        }
    }

    /// Borrows the value.
    ///
    /// # Panics
    ///
    /// If the cell is mutably borrowed.
    #[track_caller]
    pub fn borrow(&self) -> Ref<'_, T> {
        match self.cell.try_borrow() {
            Ok(value) => value,
            Err(_) => panic!(
                "GcCell<{}> is already mutably borrowed: cannot borrow it",
                std::any::type_name::<T>()
            ),
        }
    }

    /// Borrows the value mutably.
    ///
    /// # Panics
    ///
    /// If the cell is borrowed.
    #[track_caller]
    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        match self.cell.try_borrow_mut() {
            Ok(value) => value,
            Err(_) => panic!(
                "GcCell<{}> is already borrowed: cannot borrow it mutably",
                std::any::type_name::<T>()
            ),
        }
    }

    /// Borrows the value, or fails if it is mutably borrowed.
    pub fn try_borrow(&self) -> Result<Ref<'_, T>, BorrowError> {
        self.cell.try_borrow()
    }

    /// Borrows the value mutably, or fails if it is borrowed.
    pub fn try_borrow_mut(&self) -> Result<RefMut<'_, T>, BorrowMutError> {
        self.cell.try_borrow_mut()
    }

    /// Replaces the value, returning the old one.
    #[track_caller]
    pub fn replace(&self, value: T) -> T {
        std::mem::replace(&mut *self.borrow_mut(), value)
    }

    /// The value, by exclusive access.
    pub fn get_mut(&mut self) -> &mut T {
        self.cell.get_mut()
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.cell.into_inner()
    }
}

impl<T: Default> Default for GcCell<T> {
    fn default() -> Self {
        GcCell::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for GcCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cell.try_borrow() {
            Ok(value) => f.debug_tuple("GcCell").field(&*value).finish(),
            Err(_) => f.write_str("GcCell(<borrowed>)"),
        }
    }
}

// SAFETY: reports the edges of the contained value when it can be read. When the cell is mutably
// borrowed it reports none: the missed edges only make their targets look externally referenced
// (a delayed collection, never an early free). The borrow state cannot change during a detection
// pass (no user code runs), so every pass of one collection sees the same edges.
unsafe impl<T: Trace> Trace for GcCell<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;

    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        // SAFETY: the reference does not outlive this call, and no code that could borrow the cell
        // mutably runs during it (`Trace` impls may not touch cells mutably).
        if let Ok(value) = unsafe { self.cell.try_borrow_unguarded() } {
            value.trace(visitor);
        }
    }
}
