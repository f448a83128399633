//! The drop ledger of the thread-shared workloads: every node created and dropped, on any thread,
//! so that a run can check that *every object was dropped exactly once* — as the thread-local
//! [`ledger`](crate::ledger) does for the single-threaded workloads, but for nodes that are made
//! on one thread and dropped on another.
//!
//! A shared counter would cost every creation and drop a contended atomic operation, the very
//! thing these workloads measure; so each thread keeps its own books and they are added up once
//! the run is over:
//!
//! - A [`SharedToken`]'s id is the creating thread's *slot* (a process-wide number given to a
//!   thread at its first token) and the thread's own creation count: `slot << 40 | seq`.
//! - A drop sets the id's bit in the dropping thread's bitmap for that slot.
//! - When a thread exits, its books move to a global list (a thread-local destructor); a drop
//!   that happens after that (the exiting thread's other thread-local destructors — gclab's
//!   registration merges what was queued to the thread) is booked in the global list directly.
//! - [`finish`] adds the books of the threads that have exited and of the calling thread: a bit
//!   set in two bitmaps is a *double drop*.
//!
//! So the books are only complete once every other thread of the run has been *joined* (a
//! `join` waits for the thread's thread-local destructors; the end of `std::thread::scope` does
//! not). Runs in one process take turns ([`measure`](super::measure) holds a lock), so one global
//! set of books is enough; [`reset`] starts it afresh.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Bits of a token id that count creations on one thread.
const SEQ_BITS: u32 = 40;

/// The next thread slot.
static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);
/// The run number: books of an earlier run (a thread still alive from it) are not counted.
static RUN: AtomicU64 = AtomicU64::new(0);
/// Books of threads that have exited, and drops booked after a thread's books were gone.
static EXITED: Mutex<Vec<Books>> = Mutex::new(Vec::new());

/// One thread's books.
#[derive(Debug, Default)]
struct Books {
    /// The run these books belong to.
    run: u64,
    /// Tokens created by this thread.
    created: u64,
    /// Per creating slot, the bitmap of the ids this thread dropped.
    dropped: Vec<(u64, Vec<u64>)>,
    /// Drops of a token created by this same thread.
    dropped_by_creator: u64,
    /// The global books of drops that happened after their thread's books were gone.
    late: bool,
}

impl Books {
    fn fresh() -> Books {
        Books {
            run: RUN.load(Ordering::Relaxed),
            ..Books::default()
        }
    }

    /// Starts over if a new run began since these books were opened.
    fn current(&mut self) -> &mut Books {
        let run = RUN.load(Ordering::Relaxed);
        if self.run != run {
            *self = Books {
                run,
                ..Books::default()
            };
        }
        self
    }

    fn create(&mut self) -> u64 {
        let books = self.current();
        let slot = my_slot();
        let seq = books.created;
        books.created += 1;
        slot << SEQ_BITS | seq
    }

    fn drop_id(&mut self, id: u64) {
        let books = self.current();
        let (slot, seq) = (id >> SEQ_BITS, id & ((1 << SEQ_BITS) - 1));
        if SLOT.get() == slot {
            books.dropped_by_creator += 1;
        }
        let at = match books.dropped.iter().position(|(s, _)| *s == slot) {
            Some(at) => at,
            None => {
                books.dropped.push((slot, Vec::new()));
                books.dropped.len() - 1
            }
        };
        let bits = &mut books.dropped[at].1;
        let word = (seq / 64) as usize;
        if word >= bits.len() {
            bits.resize(word + 1, 0);
        }
        bits[word] |= 1 << (seq % 64);
    }
}

/// Moves a thread's books to the global list when the thread exits.
struct ThreadBooks(RefCell<Books>);

impl Drop for ThreadBooks {
    fn drop(&mut self) {
        let books = std::mem::take(self.0.get_mut());
        lock_exited().push(books);
    }
}

thread_local! {
    static BOOKS: ThreadBooks = ThreadBooks(RefCell::new(Books::fresh()));
    /// This thread's slot ([`NO_SLOT`] until it creates a token). No destructor: it stays
    /// readable while the thread's other thread-locals are destroyed.
    static SLOT: Cell<u64> = const { Cell::new(NO_SLOT) };
}

/// The slot of a thread that has created no token.
const NO_SLOT: u64 = u64::MAX;

/// This thread's slot, given on first use.
fn my_slot() -> u64 {
    let slot = SLOT.get();
    if slot != NO_SLOT {
        return slot;
    }
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
    SLOT.set(slot);
    slot
}

fn lock_exited() -> std::sync::MutexGuard<'static, Vec<Books>> {
    EXITED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A node's entry in the ledger: counted when made, booked when dropped (on whichever thread).
#[derive(Debug)]
pub struct SharedToken {
    id: u64,
}

impl SharedToken {
    /// Counts the creation of a node on this thread and returns its token.
    #[inline]
    #[allow(clippy::new_without_default)] // creating a token has an effect: it is counted
    pub fn new() -> SharedToken {
        let id = BOOKS.with(|books| books.0.borrow_mut().create());
        SharedToken { id }
    }
}

impl Drop for SharedToken {
    #[inline]
    fn drop(&mut self) {
        let id = self.id;
        if BOOKS
            .try_with(|books| books.0.borrow_mut().drop_id(id))
            .is_err()
        {
            // This thread's books are gone (it is exiting): book the drop globally.
            let run = RUN.load(Ordering::Relaxed);
            let mut exited = lock_exited();
            let at = match exited.iter().position(|b| b.late && b.run == run) {
                Some(at) => at,
                None => {
                    exited.push(Books {
                        late: true,
                        ..Books::fresh()
                    });
                    exited.len() - 1
                }
            };
            exited[at].drop_id(id);
        }
    }
}

/// What the books say once a run is over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedCounts {
    /// Nodes created.
    pub created: u64,
    /// Nodes dropped (each once).
    pub dropped: u64,
    /// Drops of an already dropped node (or of a node of another run): always a bug.
    pub double_drops: u64,
    /// Drops that happened on the thread that created the node.
    pub dropped_by_creator: u64,
}

/// Holds the process's turn for a run of the thread-shared workloads: they share these books,
/// and gclab's shared heap (its collector stops every registered thread of the process), so runs
/// in one process — tests — take turns.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts new books for a run: what earlier runs booked is forgotten, on every thread.
pub fn reset() {
    RUN.fetch_add(1, Ordering::Relaxed);
    lock_exited().clear();
}

/// Adds up the books of this run: the exited threads' and the calling thread's. Call it once
/// every other thread of the run has been joined.
pub fn finish() -> SharedCounts {
    let run = RUN.load(Ordering::Relaxed);
    let mine = BOOKS.with(|books| std::mem::take(&mut *books.0.borrow_mut()));
    let exited = std::mem::take(&mut *lock_exited());
    let mut counts = SharedCounts::default();
    let mut union: Vec<(u64, Vec<u64>)> = Vec::new();
    for books in exited.into_iter().chain(std::iter::once(mine)) {
        if books.run != run {
            // Books of another run: whatever they hold does not concern this one, but a drop
            // of this run's ids booked there would be lost — there is none, as every thread
            // reopens its books when the run number changes.
            continue;
        }
        counts.created += books.created;
        counts.dropped_by_creator += books.dropped_by_creator;
        for (slot, bits) in books.dropped {
            let at = match union.iter().position(|(s, _)| *s == slot) {
                Some(at) => at,
                None => {
                    union.push((slot, Vec::new()));
                    union.len() - 1
                }
            };
            let all = &mut union[at].1;
            if all.len() < bits.len() {
                all.resize(bits.len(), 0);
            }
            for (word, new) in all.iter_mut().zip(bits) {
                counts.double_drops += u64::from((*word & new).count_ones());
                *word |= new;
            }
        }
    }
    counts.dropped = union
        .iter()
        .flat_map(|(_, bits)| bits)
        .map(|word| u64::from(word.count_ones()))
        .sum();
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_drops_on_every_thread_once() {
        // Run on a fresh thread, so that this test's books are its own.
        let _turn = exclusive();
        std::thread::spawn(|| {
            reset();
            let here: Vec<SharedToken> = (0..10).map(|_| SharedToken::new()).collect();
            let elsewhere: Vec<SharedToken> =
                std::thread::spawn(|| (0..5).map(|_| SharedToken::new()).collect())
                    .join()
                    .unwrap();
            let (mine, theirs) = (here, elsewhere);
            std::thread::spawn(move || drop(mine)).join().unwrap();
            drop(theirs);
            let counts = finish();
            assert_eq!(counts.created, 15);
            assert_eq!(counts.dropped, 15);
            assert_eq!(counts.double_drops, 0);
            assert_eq!(counts.dropped_by_creator, 0);
        })
        .join()
        .unwrap();
    }
}
