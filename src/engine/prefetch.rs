//! Asking the CPU to start loading memory a read will touch, so the trips overlap.
//!
//! A warm read of a record that is not in the CPU's caches would otherwise pay one memory
//! round trip for the header, then stream the rest as the CRC walks it, then one more for
//! eviction's read counter. Asking for every line up front lets the memory system fetch
//! them in parallel.

use std::sync::atomic::AtomicU64;

/// Cache line size assumed when stepping through a range.
const LINE: usize = 64;

/// Lines beyond this many are left to the hardware prefetcher (a long value's CRC streams
/// well on its own; asking for all of it at once would only evict other lines).
const MAX_LINES: usize = 128;

/// Hints that `bytes` will be read once, soon: a record's bytes are checked and copied
/// out, then not needed again, so they are fetched as non-temporal (kept out of the outer
/// caches, where they would push out the location cache and eviction's tables). Does
/// nothing on targets without a stable prefetch instruction.
#[inline]
pub fn prefetch(bytes: &[u8]) {
    for line in bytes.chunks(LINE).take(MAX_LINES) {
        prefetch_line::<true>(line.as_ptr());
    }
}

/// Hints that `word` will be read and written soon.
#[inline]
pub fn prefetch_word(word: &AtomicU64) {
    prefetch_line::<false>(word.as_ptr().cast());
}

#[inline]
fn prefetch_line<const ONCE: bool>(line: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_NTA, _MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of the x86_64 baseline, so the instruction exists; a prefetch
        // never faults and changes nothing the program can observe, and every caller
        // passes a pointer into live memory anyway.
        unsafe {
            if ONCE {
                _mm_prefetch::<_MM_HINT_NTA>(line.cast());
            } else {
                _mm_prefetch::<_MM_HINT_T0>(line.cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = line;
}
