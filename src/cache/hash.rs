//! A fixed 64-bit hash for what the cache saves with the disk store (the hit sketch):
//! the same bytes hash the same in every process, on every machine, in every version
//! of this crate, unlike `std`'s or ahash's hashers. Not for untrusted keys where
//! flooding matters (its users only count, approximately).

/// Multiplier of the word-at-a-time loop (the golden ratio in 64 bits).
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Hashes `bytes`, eight at a time.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h = (bytes.len() as u64).wrapping_mul(K) ^ 0x2545_F491_4F6C_DD1D;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h ^ mix(word)).rotate_left(27).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = (h ^ mix(u64::from_le_bytes(last)))
            .rotate_left(27)
            .wrapping_mul(K);
    }
    mix(h)
}

/// MurmurHash3's 64-bit finalizer: every input bit flips each output bit with
/// probability about one half.
pub fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_fixed() {
        // Saved sketches depend on these: changing the hash forgets every saved count.
        assert_eq!(stable_hash(b""), 0xb800_bd6c_0247_2607);
        assert_eq!(stable_hash(b"user/1"), 0x9b3b_6fb3_9982_dee6);
        assert_eq!(
            stable_hash(b"a longer key, past eight bytes"),
            0xed72_f9f0_7b64_1c4b
        );
    }

    #[test]
    fn length_and_tail_matter() {
        assert_ne!(stable_hash(b"a"), stable_hash(b"a\0"));
        assert_ne!(stable_hash(b"abcdefgh"), stable_hash(b"abcdefgh\0"));
        assert_ne!(stable_hash(b"ab"), stable_hash(b"ba"));
    }
}
