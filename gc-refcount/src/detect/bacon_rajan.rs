//! [`BaconRajan`]: synchronous cycle collection from candidate roots.
//!
//! D. F. Bacon and V. T. Rajan, "Concurrent Cycle Collection in Reference Counted Systems",
//! ECOOP 2001, section 3 (the synchronous algorithm). Under the buffered discipline a decrement
//! that leaves a count above zero records the object as a candidate ("purple"): it may have just
//! become the entry to a garbage cycle. A collection looks only at the subgraph reachable from
//! the candidates, never at the whole heap:
//!
//! 1. **MarkGray** from every candidate: colour each object reached grey and subtract one from
//!    its count for every edge from a grey object (gclab works on a copy of the count in the
//!    scratch word, so real counts are never touched).
//! 2. **Scan** every grey object: one whose remaining count is above zero is referenced from
//!    outside the grey subgraph, so it and everything it reaches is live — **ScanBlack** colours
//!    them black again and restores their counts; the others turn white.
//! 3. **CollectWhite**: the white objects are garbage; they move to the garbage list.
//!
//! Each step is a loop over an explicit stack, so a 10 000 000-node chain costs no call stack.
//! Candidates whose count reached zero while they were buffered were dropped by refcounting
//! with their memory kept (the heap frees it when it empties the buffer), so no step reads freed
//! memory.

use gc_core::header::flags;
use gc_core::trial_visitors::{false_edge, start_examining};
use gc_core::{CycleDetector, Detection, Discipline, Edge, Examined, Header, ObjectList};

/// Bacon–Rajan's synchronous cycle collector. Needs the buffered discipline.
#[derive(Debug, Default)]
pub struct BaconRajan {
    /// Work stacks, kept between collections to reuse their allocations.
    stack: Vec<Edge>,
    black_stack: Vec<Edge>,
    /// Every object coloured by this collection, to clear the colours at the end.
    touched: Vec<Edge>,
    /// The edges of the object being scanned.
    edges: Vec<Edge>,
}

// SAFETY: an object ends white only if Scan found no reference to it from outside the grey
// subgraph on any path (ScanBlack would have blackened it). The grey subgraph contains every
// tracked object reachable from the candidates, so a white object is referenced only by other
// white objects: unreachable. Only white objects are moved to `garbage`.
unsafe impl CycleDetector for BaconRajan {
    fn name(&self) -> &'static str {
        "bacon-rajan"
    }

    fn disciplines(&self) -> &'static [Discipline] {
        &[Discipline::Buffered]
    }

    unsafe fn find_garbage(&mut self, examined: Examined<'_>, garbage: &ObjectList) -> Detection {
        let roots = std::mem::take(examined.candidates);
        let mut guard = ClearColours {
            touched: std::mem::take(&mut self.touched),
        };
        for &root in &roots {
            // SAFETY: candidates are live (the caller's promise).
            unsafe { Header::from_ptr(root) }.clear(flags::BUFFERED);
        }
        // SAFETY: every object reached is a live tracked object of this heap (the caller's promise
        // covers the candidates and what they reach).
        unsafe {
            for &root in &roots {
                mark_gray(root, &mut self.stack, &mut guard.touched, &mut self.edges);
            }
            for &root in &roots {
                scan(
                    root,
                    &mut self.stack,
                    &mut self.black_stack,
                    &mut self.edges,
                );
            }
        }
        let mut found = 0;
        for &root in &roots {
            // SAFETY: as above.
            found += unsafe { collect_white(root, &mut self.stack, garbage) };
        }
        let detection = Detection {
            examined: guard.touched.len(),
            garbage: found,
            split: false,
        };
        guard.clear();
        self.touched = std::mem::take(&mut guard.touched);
        // Hand the (now empty) buffer back so the heap keeps its allocation.
        let mut roots = roots;
        roots.clear();
        *examined.candidates = roots;
        detection
    }
}

/// Clears the colours of every touched object, also if a phase panics (a false edge). Only
/// garbage carries [`flags::UNREACHABLE`] (set by CollectWhite), and keeps it.
struct ClearColours {
    touched: Vec<Edge>,
}

impl ClearColours {
    fn clear(&mut self) {
        for object in self.touched.drain(..) {
            // SAFETY: touched objects are live for the whole collection; white ones moved to the
            // garbage list are torn down only after the detector returns.
            let header = unsafe { Header::from_ptr(object) };
            header.clear(flags::COLLECTION_MARKS & !flags::UNREACHABLE);
            header.set_scratch(0);
        }
    }
}

impl Drop for ClearColours {
    fn drop(&mut self) {
        self.clear();
    }
}

fn is_gray(header: &Header) -> bool {
    header.has(flags::MARKED)
}

fn is_white(header: &Header) -> bool {
    header.has(flags::WHITE)
}

/// Colours `object` black (touched, neither grey nor white).
fn set_black(header: &Header) {
    header.clear(flags::MARKED | flags::WHITE);
}

/// Whether an edge leads to an object the algorithm considers: tracked and with its value.
fn considered(header: &Header) -> bool {
    header.has(flags::TRACKED) && !header.has_any(flags::VALUE_GONE)
}

/// MarkGray, iteratively: colours every considered object reachable from `root` grey and
/// subtracts one from its scratch count for every edge from a grey object. `edges` is a scratch
/// buffer each object is traced into (no indirect call per edge).
///
/// # Safety
///
/// `root` and every tracked object it reaches are live.
unsafe fn mark_gray(
    root: Edge,
    stack: &mut Vec<Edge>,
    touched: &mut Vec<Edge>,
    edges: &mut Vec<Edge>,
) {
    /// Makes `object` part of this collection: examined, with a copy of its strong count.
    #[inline(always)]
    fn touch(object: Edge, header: &Header, touched: &mut Vec<Edge>) {
        if !header.has(flags::EXAMINED) {
            start_examining(header);
            touched.push(object);
        }
    }
    // SAFETY: the caller guarantees `root` is live.
    let header = unsafe { Header::from_ptr(root) };
    if !considered(header) || is_gray(header) {
        return;
    }
    touch(root, header, touched);
    header.set(flags::MARKED);
    stack.push(root);
    while let Some(object) = stack.pop() {
        edges.clear();
        // SAFETY: objects on the stack are live and tracked.
        unsafe { Header::trace_into(object, edges) };
        for &edge in edges.iter() {
            // SAFETY: an edge is backed by a strong count: its target is live.
            let target = unsafe { Header::from_ptr(edge) };
            if !considered(target) {
                continue;
            }
            touch(edge, target, touched);
            let refs = target.scratch();
            if refs == 0 {
                // SAFETY: `object`, whose trace reported the edge, is live.
                unsafe { false_edge(object, target) };
            }
            target.set_scratch(refs - 1);
            if !is_gray(target) {
                target.set(flags::MARKED);
                stack.push(edge);
            }
        }
    }
}

/// Scan, iteratively.
///
/// # Safety
///
/// `root` and every touched object it reaches are live.
unsafe fn scan(
    root: Edge,
    stack: &mut Vec<Edge>,
    black_stack: &mut Vec<Edge>,
    edges: &mut Vec<Edge>,
) {
    stack.push(root);
    while let Some(object) = stack.pop() {
        // SAFETY: objects on the stack are live.
        let header = unsafe { Header::from_ptr(object) };
        if !is_gray(header) {
            continue;
        }
        if header.scratch() > 0 {
            // SAFETY: as the caller guarantees.
            unsafe { scan_black(object, black_stack, edges) };
        } else {
            header.clear(flags::MARKED);
            header.set(flags::WHITE);
            // Every child goes on the stack; the loop skips those that are not grey.
            // SAFETY: live and tracked.
            unsafe { Header::trace_into(object, stack) };
        }
    }
}

/// ScanBlack, iteratively: `root` and every touched object it reaches become black and get back
/// the counts MarkGray subtracted.
///
/// # Safety
///
/// `root` and every touched object it reaches are live.
unsafe fn scan_black(root: Edge, stack: &mut Vec<Edge>, edges: &mut Vec<Edge>) {
    // SAFETY: the caller guarantees `root` is live.
    set_black(unsafe { Header::from_ptr(root) });
    stack.push(root);
    while let Some(object) = stack.pop() {
        edges.clear();
        // SAFETY: objects on the stack are live and tracked.
        unsafe { Header::trace_into(object, edges) };
        for &edge in edges.iter() {
            // SAFETY: an edge is backed by a strong count: its target is live.
            let target = unsafe { Header::from_ptr(edge) };
            if !considered(target) || !target.has(flags::EXAMINED) {
                continue;
            }
            target.set_scratch(target.scratch() + 1);
            if is_gray(target) || is_white(target) {
                set_black(target);
                stack.push(edge);
            }
        }
    }
}

/// CollectWhite, iteratively: moves every white object reachable from `root` to `garbage`.
/// Returns how many it moved.
///
/// # Safety
///
/// `root` and every touched object it reaches are live and linked into a list.
unsafe fn collect_white(root: Edge, stack: &mut Vec<Edge>, garbage: &ObjectList) -> usize {
    let mut moved = 0;
    stack.push(root);
    while let Some(object) = stack.pop() {
        // SAFETY: objects on the stack are live.
        let header = unsafe { Header::from_ptr(object) };
        if !is_white(header) {
            continue;
        }
        header.clear(flags::WHITE);
        // Every child goes on the stack; the loop skips those that are not white.
        // SAFETY: live and tracked; traced before it moves (the list links are not its value).
        unsafe { Header::trace_into(object, stack) };
        // SAFETY: a tracked live object is linked into one of the heap's lists, whose members are
        // live; then it is in no list.
        unsafe {
            ObjectList::unlink(object);
            garbage.push_back(object);
        }
        // The detector's contract: garbage leaves flagged (`ClearColours` keeps the flag).
        header.set(flags::UNREACHABLE);
        moved += 1;
    }
    moved
}
