//! The drop ledger: counts every workload node created and dropped on this thread, so that a run
//! can check that *every object was dropped exactly once*.
//!
//! Each node holds a [`DropToken`]. Creating the token gives it the next id and counts a
//! creation; dropping it counts a drop and sets the id's bit in a bitmap. A bit found already set
//! is a *double drop* — a collector that dropped a value twice, which no correct policy may do.
//! At the end of a run, `created - dropped` is the number of nodes never dropped: zero for every
//! policy that frees everything, the leaked cycles for plain reference counting.
//!
//! The ledger is per thread, like gclab's heaps: each run executes on a thread of its own
//! ([`measure`](crate::measure)), so its counts are its own. The cost — a thread-local access and
//! a bit operation per node created and dropped — is the same for every backend measured.

use std::cell::RefCell;

/// The counts of one thread's ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Nodes created.
    pub created: u64,
    /// Nodes dropped (each counted once, even if dropped twice).
    pub dropped: u64,
    /// Drops of a node that had already been dropped.
    pub double_drops: u64,
    /// The most nodes alive at once (created and not yet dropped).
    pub peak_live: u64,
}

impl LedgerCounts {
    /// Nodes created and not dropped.
    pub fn live(&self) -> u64 {
        self.created - self.dropped
    }
}

/// One thread's ledger: the counts and the bitmap of dropped ids.
struct Ledger {
    counts: LedgerCounts,
    dropped_bits: Vec<u64>,
}

impl Ledger {
    const fn new() -> Ledger {
        Ledger {
            counts: LedgerCounts {
                created: 0,
                dropped: 0,
                double_drops: 0,
                peak_live: 0,
            },
            dropped_bits: Vec::new(),
        }
    }

    fn create(&mut self) -> u64 {
        let id = self.counts.created;
        self.counts.created += 1;
        let word = (id / 64) as usize;
        if word >= self.dropped_bits.len() {
            self.dropped_bits.resize(word + 1, 0);
        }
        let live = self.counts.live();
        if live > self.counts.peak_live {
            self.counts.peak_live = live;
        }
        id
    }

    fn drop_id(&mut self, id: u64) {
        let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
        match self.dropped_bits.get_mut(word) {
            Some(bits) if *bits & bit == 0 => {
                *bits |= bit;
                self.counts.dropped += 1;
            }
            // Already dropped, or an id this ledger never gave (a token from before a reset):
            // either way not a first drop of a node of this run.
            _ => self.counts.double_drops += 1,
        }
    }
}

thread_local! {
    static LEDGER: RefCell<Ledger> = const { RefCell::new(Ledger::new()) };
}

/// A node's entry in the ledger: created with the node, dropped with it. Not `Clone`: one token,
/// one node.
#[derive(Debug)]
pub struct DropToken {
    id: u64,
}

impl DropToken {
    /// Counts the creation of a node and returns its token.
    #[inline]
    #[allow(clippy::new_without_default)] // creating a token has an effect: it is counted
    pub fn new() -> DropToken {
        let id = LEDGER.with(|ledger| ledger.borrow_mut().create());
        DropToken { id }
    }

    /// The token's id: its creation order on this thread.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for DropToken {
    #[inline]
    fn drop(&mut self) {
        // `try_with`: a peer crate may drop values from its own thread-local destructor, after
        // this ledger is gone; those drops are past the end of the measurement.
        let _ = LEDGER.try_with(|ledger| ledger.borrow_mut().drop_id(self.id));
    }
}

/// This thread's counts.
pub fn counts() -> LedgerCounts {
    LEDGER.with(|ledger| ledger.borrow().counts)
}

/// Nodes created and not yet dropped on this thread.
pub fn live() -> u64 {
    counts().live()
}

/// How many of the nodes with ids in `ids` (creation order on this thread, see
/// [`DropToken::id`]) have been dropped.
pub fn dropped_in(ids: std::ops::Range<u64>) -> u64 {
    LEDGER.with(|ledger| {
        let ledger = ledger.borrow();
        ids.filter(|&id| {
            ledger
                .dropped_bits
                .get((id / 64) as usize)
                .is_some_and(|bits| bits & (1u64 << (id % 64)) != 0)
        })
        .count() as u64
    })
}

/// Starts this thread's ledger afresh (tokens alive from before count as double drops when they
/// go: reset only when none is alive).
pub fn reset() {
    LEDGER.with(|ledger| *ledger.borrow_mut() = Ledger::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_creations_drops_and_the_peak() {
        std::thread::spawn(|| {
            let a = DropToken::new();
            let b = DropToken::new();
            assert_eq!(counts().live(), 2);
            drop(a);
            let c = DropToken::new();
            drop((b, c));
            let counts = counts();
            assert_eq!(
                (counts.created, counts.dropped, counts.double_drops),
                (3, 3, 0)
            );
            assert_eq!(counts.peak_live, 2);
            assert_eq!(dropped_in(0..3), 3);
            let d = DropToken::new();
            assert_eq!(
                (dropped_in(0..4), dropped_in(3..4), dropped_in(4..9)),
                (3, 0, 0)
            );
            drop(d);
            assert_eq!(dropped_in(2..4), 2);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_second_drop_of_the_same_id_is_reported() {
        std::thread::spawn(|| {
            let token = DropToken::new();
            let forged = DropToken { id: token.id() };
            drop(token);
            drop(forged);
            assert_eq!(counts().double_drops, 1);
            assert_eq!(counts().dropped, 1);
        })
        .join()
        .unwrap();
    }
}
