//! [`NoCycles`]: plain reference counting.

use gc_core::{CycleDetector, Detection, Discipline, Examined, ObjectList};

/// Finds no garbage: objects are freed only when their count reaches zero, and cycles leak. The
/// baseline every other detector is compared with. `gc::collect()` returns 0 under it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCycles;

// SAFETY: moves nothing into `garbage`.
unsafe impl CycleDetector for NoCycles {
    fn name(&self) -> &'static str {
        "none"
    }

    /// Only the immediate discipline: under the deferred one nothing would ever be freed.
    fn disciplines(&self) -> &'static [Discipline] {
        &[Discipline::Immediate]
    }

    unsafe fn find_garbage(&mut self, examined: Examined<'_>, _garbage: &ObjectList) -> Detection {
        Detection {
            examined: examined.objects.len(),
            garbage: 0,
            split: false,
        }
    }
}
