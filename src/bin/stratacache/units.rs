//! Sizes and durations: parsing what people type (`64MiB`, `7d`) and printing what people
//! read (`12.4 MiB`, `6d 23h`).

pub use stratacache::units::{parse_size, parse_ttl};

/// A byte count for people: `512 B`, `12.4 MiB`, `3.0 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // Move up before rounding would print "1024.0".
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration for people, its two largest units, rounded down: `850ms`, `42s`, `1m 30s`,
/// `5h 0m`, `6d 23h`.
pub fn human_duration(ms: u64) -> String {
    const SEC: u64 = 1_000;
    const MIN: u64 = 60 * SEC;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    match ms {
        0..SEC => format!("{ms}ms"),
        SEC..MIN => format!("{}s", ms / SEC),
        MIN..HOUR => format!("{}m {}s", ms / MIN, ms % MIN / SEC),
        HOUR..DAY => format!("{}h {}m", ms / HOUR, ms % HOUR / MIN),
        _ => format!("{}d {}h", ms / DAY, ms % DAY / HOUR),
    }
}

/// A count and its noun: `1 segment`, `3 segments`.
pub fn count(n: u64, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", grouped(n))
}

/// A count and the noun's singular or plural: `1 entry`, `1,200 entries`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A rate of items per second for people: `770,517/s`, `12/s`, `2.5/s` (a fraction only
/// below 10).
pub fn human_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec < 0.0 {
        return "-".into();
    }
    if per_sec < 10.0 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{}/s", grouped(per_sec.round() as u64))
    }
}

/// A whole number with thousands separators: `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(13_002_342), "12.4 MiB");
        assert_eq!(human_size(10 << 30), "10.0 GiB");
        assert_eq!(human_size((1 << 20) - 1), "1.0 MiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(42_000), "42s");
        assert_eq!(human_duration(90_000), "1m 30s");
        assert_eq!(human_duration(5 * 3_600_000), "5h 0m");
        assert_eq!(human_duration(7 * 86_400_000 - 1), "6d 23h");
    }

    #[test]
    fn rates_for_people() {
        assert_eq!(human_rate(770_517.153_9), "770,517/s");
        assert_eq!(human_rate(12.4), "12/s");
        assert_eq!(human_rate(2.54), "2.5/s");
        assert_eq!(human_rate(f64::INFINITY), "-");
    }

    #[test]
    fn grouping() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
