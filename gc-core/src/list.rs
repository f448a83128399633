//! Intrusive tracked-object lists: CPython's `PyGC_Head` lists.
//!
//! A list is a circular doubly linked ring through the objects' [`Links`], closed by a heap-allocated
//! sentinel. Linking, unlinking (knowing only the object) and appending a whole list to another
//! are O(1); the lists cost no memory beyond the two words in each header. A scheduler names its
//! generations; each one is an `ObjectList`, and a collection splices them into one examined list.

use std::ptr::{self, NonNull};

use crate::header::{Header, Links};
use crate::prefetch::prefetch_walk_ahead;

/// A list of tracked objects (a generation, or a working set during a collection).
///
/// The list does not own its objects; it only threads through their headers. Dropping a
/// non-empty list detaches its objects (their links become null) so that none points at the freed
/// sentinel.
#[derive(Debug)]
pub struct ObjectList {
    sentinel: NonNull<Links>,
}

impl Default for ObjectList {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectList {
    /// An empty list.
    pub fn new() -> Self {
        let sentinel = NonNull::from(Box::leak(Box::new(Links::unlinked())));
        // SAFETY: the sentinel was just allocated and is owned by this list until `drop`.
        let links = unsafe { sentinel.as_ref() };
        links.prev.set(sentinel.as_ptr());
        links.next.set(sentinel.as_ptr());
        ObjectList { sentinel }
    }

    fn sentinel(&self) -> &Links {
        // SAFETY: the sentinel lives as long as the list.
        unsafe { self.sentinel.as_ref() }
    }

    fn as_object(&self, links: *const Links) -> Option<NonNull<Header>> {
        if ptr::eq(links, self.sentinel.as_ptr()) {
            None
        } else {
            // Links is the first field of the `#[repr(C)]` Header, and every non-sentinel entry
            // of a list was linked from a header pointer.
            NonNull::new(links.cast_mut().cast::<Header>())
        }
    }

    /// Whether the list holds no object.
    pub fn is_empty(&self) -> bool {
        ptr::eq(self.sentinel().next.get(), self.sentinel.as_ptr())
    }

    /// The first object, if any.
    pub fn first(&self) -> Option<NonNull<Header>> {
        self.as_object(self.sentinel().next.get())
    }

    /// The object after `object` in this list, if any.
    ///
    /// # Safety
    ///
    /// `object` is live and currently linked into this list.
    pub unsafe fn next(&self, object: NonNull<Header>) -> Option<NonNull<Header>> {
        // SAFETY: the caller guarantees `object` is live.
        let header = unsafe { Header::from_ptr(object) };
        self.as_object(header.links().next.get())
    }

    /// Links `object` at the end of the list.
    ///
    /// # Safety
    ///
    /// `object` is live, in no list, and stays live until it is unlinked or the list is dropped.
    pub unsafe fn push_back(&self, object: NonNull<Header>) {
        // SAFETY: the caller guarantees `object` is live.
        let header = unsafe { Header::from_ptr(object) };
        debug_assert!(!header.is_linked(), "object already linked");
        let sentinel = self.sentinel();
        let last = sentinel.prev.get();
        let links = object.as_ptr().cast_const().cast::<Links>();
        header.links().prev.set(last);
        header.links().next.set(self.sentinel.as_ptr());
        // SAFETY: `last` is the sentinel or a live linked object (list invariant).
        unsafe { (*last).next.set(links) };
        sentinel.prev.set(links);
    }

    /// Unlinks `object` from whatever list it is in, in O(1).
    ///
    /// # Safety
    ///
    /// `object` is live and linked into a list whose sentinel and other members are live.
    pub unsafe fn unlink(object: NonNull<Header>) {
        // SAFETY: the caller guarantees `object` is live.
        let header = unsafe { Header::from_ptr(object) };
        let links = header.links();
        let prev = links.prev.get();
        let next = links.next.get();
        debug_assert!(!prev.is_null() && !next.is_null(), "object not linked");
        // SAFETY: neighbours in a list are live (list invariant, guaranteed by the caller).
        unsafe {
            (*prev).next.set(next);
            (*next).prev.set(prev);
        }
        links.prev.set(ptr::null());
        links.next.set(ptr::null());
    }

    /// Removes and returns the first object.
    pub fn pop_front(&self) -> Option<NonNull<Header>> {
        let first = self.first()?;
        // SAFETY: `first` is linked into this list, whose members are live (list invariant).
        unsafe { Self::unlink(first) };
        Some(first)
    }

    /// Moves every object of `other` to the end of `self` in O(1); `other` ends empty.
    pub fn append(&self, other: &ObjectList) {
        if other.is_empty() || ptr::eq(self, other) {
            return;
        }
        let sentinel = self.sentinel();
        let other_sentinel = other.sentinel();
        let first = other_sentinel.next.get();
        let last = other_sentinel.prev.get();
        let tail = sentinel.prev.get();
        // SAFETY: `first`, `last` and `tail` are live members or sentinels (list invariant).
        unsafe {
            (*tail).next.set(first);
            (*first).prev.set(tail);
            (*last).next.set(self.sentinel.as_ptr());
        }
        sentinel.prev.set(last);
        other_sentinel.next.set(other.sentinel.as_ptr());
        other_sentinel.prev.set(other.sentinel.as_ptr());
    }

    /// Counts the objects, walking the list (O(n), as CPython's `gc_list_size`).
    pub fn len(&self) -> usize {
        let mut count = 0;
        let mut cursor = self.sentinel().next.get();
        while !ptr::eq(cursor, self.sentinel.as_ptr()) {
            count += 1;
            // SAFETY: members are live (list invariant).
            cursor = unsafe { (*cursor).next.get() };
        }
        count
    }

    /// Calls `f` on every object, front to back. `f` must not unlink or move objects of this list
    /// other than by appending new ones at the end (which are visited too). The walk prefetches
    /// [`WALK_AHEAD`](crate::prefetch::WALK_AHEAD) bytes ahead of each object (see
    /// [`prefetch_walk_ahead`]).
    ///
    /// # Safety
    ///
    /// Every member is live for the whole walk.
    pub unsafe fn for_each(&self, mut f: impl FnMut(NonNull<Header>)) {
        let mut cursor = self.first();
        while let Some(object) = cursor {
            prefetch_walk_ahead(object.as_ptr());
            f(object);
            // SAFETY: `object` is still a live member (the caller's promise and `f`'s rules).
            cursor = unsafe { self.next(object) };
        }
    }
}

impl Drop for ObjectList {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
        // SAFETY: the sentinel was leaked from a `Box` in `new` and no member points to it now.
        drop(unsafe { Box::from_raw(self.sentinel.as_ptr()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::type_info::ObjectBox;

    fn objects(n: usize) -> Vec<NonNull<Header>> {
        (0..n)
            .map(|i| {
                let object = Box::leak(Box::new(ObjectBox::new(i as u64)));
                NonNull::from(object).cast::<Header>()
            })
            .collect()
    }

    fn free(objects: Vec<NonNull<Header>>) {
        for object in objects {
            // SAFETY: each was leaked from a `Box<ObjectBox<u64>>` above and is in no list now.
            drop(unsafe { Box::from_raw(object.cast::<ObjectBox<u64>>().as_ptr()) });
        }
    }

    #[test]
    fn link_unlink_append() {
        let all = objects(5);
        let a = ObjectList::new();
        let b = ObjectList::new();
        for &o in &all[..3] {
            // SAFETY: fresh, unlinked, live until `free`.
            unsafe { a.push_back(o) };
        }
        for &o in &all[3..] {
            // SAFETY: as above.
            unsafe { b.push_back(o) };
        }
        assert_eq!((a.len(), b.len()), (3, 2));
        // SAFETY: all[1] is linked into `a`.
        unsafe { ObjectList::unlink(all[1]) };
        a.append(&b);
        assert!(b.is_empty());
        let mut seen = Vec::new();
        // SAFETY: all members are live.
        unsafe { a.for_each(|o| seen.push(o)) };
        assert_eq!(seen, vec![all[0], all[2], all[3], all[4]]);
        assert_eq!(a.pop_front(), Some(all[0]));
        drop(a); // detaches the rest
        free(all);
    }
}
