//! The buffers a collector keeps from one collection to the next, so that collecting a heap that
//! does not grow allocates nothing — without keeping the peak of a heap that has since shrunk.

/// Capacity a scratch buffer may always keep, however little a collection used.
const KEEP: usize = 1024;

/// Empties `buffer` for the next collection, and gives back most of its memory if it is far
/// larger than what the last collection needed (`used` elements): above four times that (or
/// [`KEEP`]), it shrinks to twice that. So a buffer is reallocated only when the heap grows
/// beyond twice that use (it then regrows by doubling, as any `Vec`) — never by a collection as
/// large as the last one.
pub(crate) fn clear_scratch<T>(buffer: &mut Vec<T>, used: usize) {
    buffer.clear();
    let needed = used.max(KEEP);
    if buffer.capacity() > 4 * needed {
        buffer.shrink_to(2 * needed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_far_beyond_its_use_shrinks_and_one_near_it_keeps_its_capacity() {
        let mut buffer: Vec<u32> = Vec::with_capacity(100 * KEEP);
        buffer.extend(0..10);
        clear_scratch(&mut buffer, 10);
        assert!(buffer.is_empty());
        assert!(
            (KEEP..=2 * KEEP).contains(&buffer.capacity()),
            "capacity {} after a use of 10",
            buffer.capacity()
        );

        let mut buffer: Vec<u32> = Vec::with_capacity(100 * KEEP);
        clear_scratch(&mut buffer, 30 * KEEP);
        assert!(buffer.capacity() >= 100 * KEEP, "shrunk below 4x its use");

        let mut buffer: Vec<u32> = Vec::with_capacity(100 * KEEP);
        clear_scratch(&mut buffer, 20 * KEEP);
        assert!((40 * KEEP..100 * KEEP).contains(&buffer.capacity()));
    }
}
