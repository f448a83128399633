//! [`AtomicGc<T>`]: a shared mutable slot holding an optional [`Gc`], read and replaced
//! atomically by any number of threads.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use gc_core::{Trace, Visitor};

use super::biased::BiasedCounts;
use super::counts::Counts;
use super::handle::Gc;
use super::object::SharedHeader;
use super::runtime::{AtomicSlot, Runtime};

/// A slot holding an optional [`Gc<T, C>`], shared between threads: [`load`](AtomicGc::load),
/// [`store`](AtomicGc::store), [`swap`](AtomicGc::swap) and
/// [`compare_exchange`](AtomicGc::compare_exchange), all lock-free. The slot holds one reference
/// to its object. How `load` stays safe against a concurrent `store` of the last
/// reference is explained below.
///
/// ## Why `load` needs an epoch
///
/// A slot holds one counted reference to the object it points to. `load` must read the address
/// and then add a reference; between the two steps another thread may `store` over the slot and
/// drop the slot's reference — the last one — and free the object. Without care, `load` then
/// increments freed memory (and hands out a handle to it).
///
/// Two rules close that window:
///
/// 1. **`load` pins an epoch** (crossbeam-epoch) before it reads the address and unpins after its
///    increment, and it increments only a live object ([`Counts::try_increment`]: never from a
///    dead zero, so a dead object cannot be brought back). If the increment fails, the object died
///    after the read — so the slot no longer points to it — and `load` reads the slot again.
/// 2. **The free of a published object defers its memory.** Every object stored in a slot is
///    marked *published* first ([`Counts::publish`], a bit of its count word, never cleared).
///    When the last reference to a published object goes, its value is dropped at once, on that
///    thread, as for any object; only the *memory* (header and value) is handed to
///    crossbeam-epoch, which frees it once every thread pinned at that moment has unpinned.
///    Objects never published are freed at once: no thread can reach them without a reference.
///
/// Why that is enough: a loader touches the header only between its pin and its unpin, and only
/// at an address it read from a slot during that time. The object was then still in the slot,
/// so the loader pinned before the object was taken out of its last slot, which happens before
/// its last reference goes, which happens before the deferred free is registered (the slot's
/// reference is dropped after the swap that removes it; the last decrement acquires it). So the
/// loader is pinned when the free is deferred, and the memory outlives its increment attempt. A
/// dead object cannot get into a slot again (storing needs a reference, and none can be made), so
/// no loader that pins later can find it.
pub struct AtomicGc<T: Trace + Send + Sync + 'static, C: Counts = BiasedCounts> {
    slot: <C::Runtime as Runtime>::Slot<SharedHeader<C>>,
    _value: PhantomData<Gc<T, C>>,
}

/// The failure of [`AtomicGc::compare_exchange`]: the slot did not hold `current`.
pub struct CompareExchangeError<T: Trace + Send + Sync + 'static, C: Counts = BiasedCounts> {
    /// What the slot held, loaded after the failed exchange (it may have changed again since).
    pub current: Option<Gc<T, C>>,
    /// The value that was not stored, given back.
    pub new: Option<Gc<T, C>>,
}

impl<T: Trace + Send + Sync + 'static, C: Counts> AtomicGc<T, C> {
    /// A slot holding `value`.
    pub fn new(value: Option<Gc<T, C>>) -> Self {
        AtomicGc {
            slot: AtomicSlot::new(Self::publish(value)),
            _value: PhantomData,
        }
    }

    /// A new handle to the object in the slot, if any.
    pub fn load(&self) -> Option<Gc<T, C>> {
        let _pinned = C::Runtime::pin();
        loop {
            let obj = NonNull::new(self.slot.load(Acquire))?;
            // SAFETY: `obj` was in the slot while this thread is pinned, so its memory stays
            // allocated until the guard drops, even if the object dies meanwhile (type docs).
            let counts = unsafe { SharedHeader::from_ptr(obj) }.counts();
            if counts.try_increment() {
                // SAFETY: `obj` is a `SharedBox<T, C>` (only `Gc<T, C>`s are stored here) and the
                // increment made a reference for the new handle.
                return Some(unsafe { Gc::from_raw(obj) });
            }
            // It died after the read, so the slot holds something else now (and the failed
            // increment acquired the removal: the next read sees it).
            <C::Runtime as gc_core::sync::Platform>::spin_loop();
        }
    }

    /// Stores `value`, dropping the slot's previous reference.
    pub fn store(&self, value: Option<Gc<T, C>>) {
        drop(self.swap(value));
    }

    /// Stores `value` and returns what the slot held (its reference passes to the caller).
    pub fn swap(&self, value: Option<Gc<T, C>>) -> Option<Gc<T, C>> {
        // Changing a slot changes an edge (if the slot is in a shared object): not while a
        // collection examines the heap.
        let _access = C::Runtime::enter_heap();
        let old = self.slot.swap(Self::publish(value), AcqRel);
        // SAFETY: `old` was the slot's reference, which the swap took out of the slot.
        unsafe { Self::take(old) }
    }

    /// Stores `new` if the slot holds `current` (the same object, or `None`), and returns what it
    /// held; otherwise gives `new` back with what the slot holds now.
    ///
    /// `current` is a handle the caller holds, so its object cannot be freed and its address
    /// reused during the exchange: no ABA.
    pub fn compare_exchange(
        &self,
        current: Option<&Gc<T, C>>,
        new: Option<Gc<T, C>>,
    ) -> Result<Option<Gc<T, C>>, CompareExchangeError<T, C>> {
        let expected = current.map_or(ptr::null_mut(), |gc| Self::raw(gc));
        let _access = C::Runtime::enter_heap();
        let new = Self::publish(new);
        match self.slot.compare_exchange(expected, new, AcqRel, Acquire) {
            // SAFETY: the exchange took the slot's reference to `old` out of the slot.
            Ok(old) => Ok(unsafe { Self::take(old) }),
            Err(_) => Err(CompareExchangeError {
                // SAFETY: `new` was not stored: its reference is still the caller's.
                new: unsafe { Self::take(new) },
                current: self.load(),
            }),
        }
    }

    /// The slot's value, consuming it.
    pub fn into_inner(self) -> Option<Gc<T, C>> {
        let this = std::mem::ManuallyDrop::new(self);
        let old = this.slot.load(Acquire);
        // SAFETY: the slot's reference, moved out of a slot that is never used again.
        unsafe { Self::take(old) }
    }

    /// Marks `value`'s object published and turns the handle into the slot's raw reference.
    fn publish(value: Option<Gc<T, C>>) -> *mut SharedHeader<C> {
        match value {
            Some(gc) => {
                let obj = Gc::into_raw(gc);
                // SAFETY: `obj` is the reference just taken out of the handle: alive.
                unsafe { SharedHeader::from_ptr(obj) }.counts().publish();
                obj.as_ptr()
            }
            None => ptr::null_mut(),
        }
    }

    fn raw(gc: &Gc<T, C>) -> *mut SharedHeader<C> {
        Gc::as_ptr(gc).cast_mut().cast()
    }

    /// The handle for a raw reference taken out of the slot.
    ///
    /// # Safety
    /// `ptr` is null or a counted reference to a `SharedBox<T, C>` that the caller owns.
    unsafe fn take(ptr: *mut SharedHeader<C>) -> Option<Gc<T, C>> {
        // SAFETY: the caller transfers the reference.
        NonNull::new(ptr).map(|obj| unsafe { Gc::from_raw(obj) })
    }
}

impl<T: Trace + Send + Sync + 'static, C: Counts> Drop for AtomicGc<T, C> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can reach the slot, so a relaxed load reads its last value.
        let old = self.slot.load(Relaxed);
        // SAFETY: the slot's reference; the slot is going away.
        drop(unsafe { Self::take(old) });
    }
}

impl<T: Trace + Send + Sync + 'static, C: Counts> Default for AtomicGc<T, C> {
    fn default() -> Self {
        AtomicGc::new(None)
    }
}

impl<T: Trace + Send + Sync + 'static + fmt::Debug, C: Counts> fmt::Debug for AtomicGc<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AtomicGc").field(&self.load()).finish()
    }
}

impl<T: Trace + Send + Sync + 'static, C: Counts> fmt::Debug for CompareExchangeError<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompareExchangeError")
            .field("current", &self.current.as_ref().map(Gc::as_ptr))
            .field("new", &self.new.as_ref().map(Gc::as_ptr))
            .finish()
    }
}

/// Reports the slot's object to the shared collector, like [`Gc`] (see its `Trace` impl).
// SAFETY: [1] the slot holds one reference, reported once (tracked values only); while a
// collection traces, no store can change the slot (stores take heap access); [2] one atomic
// load; [3] as `Gc`'s.
unsafe impl<T: Trace + Send + Sync + 'static, C: Counts> Trace for AtomicGc<T, C> {
    /// `true`, as for the thread-local `Gc`: `T::MAY_CONTAIN_GC` here would make a recursive
    /// type's constant depend on itself. A handle to a leaf is simply not reported.
    const MAY_CONTAIN_GC: bool = true;

    fn trace(&self, visitor: &mut dyn Visitor) {
        if T::MAY_CONTAIN_GC {
            if let Some(obj) = NonNull::new(self.slot.load(Acquire)) {
                visitor.visit_shared(obj.cast());
            }
        }
    }
}
