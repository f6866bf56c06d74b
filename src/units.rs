//! Sizes and durations as people type them (`64MiB`, `10GiB`, `90s`, `1h30m`): the parsers
//! the CLI, the server's flags and the Python package share.

use std::time::Duration;

/// Multipliers for size units, matched case-insensitively. `K`/`M`/`G`/`T` are binary (as
/// in `dd`), `KB`/`MB`/... decimal, `KiB`/`MiB`/... binary.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("", 1),
    ("b", 1),
    ("k", 1 << 10),
    ("kib", 1 << 10),
    ("kb", 1_000),
    ("m", 1 << 20),
    ("mib", 1 << 20),
    ("mb", 1_000_000),
    ("g", 1 << 30),
    ("gib", 1 << 30),
    ("gb", 1_000_000_000),
    ("t", 1 << 40),
    ("tib", 1 << 40),
    ("tb", 1_000_000_000_000),
];

/// Milliseconds per TTL unit.
const TTL_UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

const TTL_HINT: &str = "use ms, s, m, h or d, e.g. 90s, 15m, 7d";

/// Parses a byte size: `67108864`, `64MiB`, `10GiB`, `512KiB`, `64M`, `1.5G`, `64 MiB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    if number.is_empty() {
        return Err("a size starts with a number, e.g. 64MiB".into());
    }
    let multiplier = SIZE_UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|(_, m)| *m)
        .ok_or_else(|| {
            format!("unknown size unit '{unit}' (use B, KiB, MiB, GiB, TiB, or K, M, G, T)")
        })?;
    let too_big = || "size is too large".to_string();
    if number.contains('.') {
        let n: f64 = number
            .parse()
            .map_err(|_| format!("'{number}' is not a number"))?;
        let bytes = (n * multiplier as f64).round();
        return if bytes < u64::MAX as f64 {
            Ok(bytes as u64)
        } else {
            Err(too_big())
        };
    }
    let n: u64 = number.parse().map_err(|_| too_big())?;
    n.checked_mul(multiplier).ok_or_else(too_big)
}

/// Parses a duration (a TTL, or how long to wait): one or more `<number><unit>` parts with
/// units `ms`, `s`, `m`, `h`, `d`, the largest first and each unit once (`90s`, `7d`,
/// `1500ms`, `1h30m`). The last part may have a fraction (`1.5h`, `2.5s`), rounded to the
/// millisecond. Zero is rejected: an entry would expire at once.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(format!("empty duration ({TTL_HINT})"));
    }
    let mut total_ms: u64 = 0;
    // Index in TTL_UNITS of the previous part's unit: each next unit must be larger.
    let mut previous: Option<usize> = None;
    while !rest.is_empty() {
        let (number, unit, after) = split_ttl_part(rest)?;
        let index = TTL_UNITS
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(|| format!("unknown unit '{unit}' ({TTL_HINT})"))?;
        match previous {
            Some(p) if p == index => {
                return Err(format!(
                    "the unit '{unit}' is given twice (give each unit once, largest first, \
                     e.g. 1h30m)"
                ));
            }
            Some(p) if p < index => {
                return Err(format!(
                    "'{number}{unit}' comes after a smaller unit (largest first, e.g. 1h30m)"
                ));
            }
            _ => {}
        }
        if number.contains('.') && !after.is_empty() {
            return Err(format!(
                "only the last part may have a fraction, not '{number}{unit}' (e.g. 1.5h or 1h30m)"
            ));
        }
        let ms = part_ms(number, TTL_UNITS[index].1)?;
        total_ms = total_ms
            .checked_add(ms)
            .ok_or_else(|| "duration is too large".to_string())?;
        previous = Some(index);
        rest = after;
    }
    if total_ms == 0 {
        return Err("a duration must be greater than zero".into());
    }
    Ok(Duration::from_millis(total_ms))
}

/// Splits `<number><unit>` off the front of `text`: the number (digits, maybe one `.`), the
/// unit, and what follows.
fn split_ttl_part(text: &str) -> Result<(&str, &str, &str), String> {
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    if digits == 0 {
        return Err(format!("expected a number at '{text}' ({TTL_HINT})"));
    }
    let (number, rest) = text.split_at(digits);
    let unit_len = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    if unit_len == 0 {
        return Err(format!("missing unit after '{number}' ({TTL_HINT})"));
    }
    let (unit, after) = rest.split_at(unit_len);
    Ok((number, unit, after))
}

/// Milliseconds in `number` (`90`, `1.5`) of a unit of `per` milliseconds.
fn part_ms(number: &str, per: u64) -> Result<u64, String> {
    let too_large = || "duration is too large".to_string();
    if !number.contains('.') {
        let n: u64 = number.parse().map_err(|_| too_large())?;
        return n.checked_mul(per).ok_or_else(too_large);
    }
    let n: f64 = number
        .parse()
        .map_err(|_| format!("'{number}' is not a number"))?;
    let ms = (n * per as f64).round();
    if ms < u64::MAX as f64 {
        Ok(ms as u64)
    } else {
        Err(too_large())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_every_spelling() {
        assert_eq!(parse_size("67108864"), Ok(64 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64mib"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("10G"), Ok(10 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("7B"), Ok(7));
    }

    #[test]
    fn bad_sizes_name_the_problem() {
        assert!(parse_size("64XB").unwrap_err().contains("'XB'"));
        assert!(parse_size("MiB").unwrap_err().contains("number"));
        assert!(parse_size("").is_err());
        assert!(parse_size("-5M").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("20000000TiB").is_err());
        assert!(parse_size("1.2.3M").is_err());
    }

    #[test]
    fn ttls_in_every_unit() {
        assert_eq!(parse_ttl("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_ttl("1d2h3m4s5ms"),
            Ok(Duration::from_millis(93_784_005))
        );
    }

    #[test]
    fn ttls_with_a_fraction() {
        assert_eq!(parse_ttl("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("0.5d"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_ttl("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_ttl("1h0.5m"), Ok(Duration::from_secs(3630)));
        assert_eq!(parse_ttl("1.5ms"), Ok(Duration::from_millis(2)));
    }

    #[test]
    fn bad_ttls_name_the_problem() {
        assert!(parse_ttl("5y").unwrap_err().contains("'y'"));
        assert!(parse_ttl("90").unwrap_err().contains("missing unit"));
        assert!(parse_ttl("s").unwrap_err().contains("number"));
        assert!(parse_ttl("0s").unwrap_err().contains("greater than zero"));
        assert!(parse_ttl("").is_err());
        assert!(parse_ttl("-5s").is_err());
        assert!(
            parse_ttl("1m1m")
                .unwrap_err()
                .contains("'m' is given twice")
        );
        assert!(parse_ttl("30m1h").unwrap_err().contains("'1h'"));
        assert!(parse_ttl("1.5h30m").unwrap_err().contains("'1.5h'"));
        assert!(parse_ttl("1..5h").unwrap_err().contains("'1..5'"));
        assert!(
            parse_ttl("0.0001s")
                .unwrap_err()
                .contains("greater than zero")
        );
        assert!(parse_ttl("99999999999999999999d").is_err());
        assert!(parse_ttl("999999999999999d").is_err());
    }
}
