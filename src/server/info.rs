//! The text of `INFO`: Redis's sections, then a `stratacache` section with each tier's
//! numbers.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::config::REDIS_VERSION;
use super::shared::Shared;

/// Sections in the order `INFO` prints them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "keyspace",
    "stratacache",
];

/// A field of `/proc/self/status` in bytes (its value is in kB).
fn proc_status_bytes(field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The store's and the cache's stats, read once per `INFO` however many sections use them
/// (reading the store's stats commits staged changes and walks the directory).
struct Snapshot<'a> {
    shared: &'a Shared,
    disk: std::cell::OnceCell<crate::Stats>,
    cache: std::cell::OnceCell<crate::CacheStats>,
}

impl Snapshot<'_> {
    fn disk(&self) -> &crate::Stats {
        self.disk
            .get_or_init(|| self.shared.store().stats().unwrap_or_default())
    }

    fn cache(&self) -> &crate::CacheStats {
        self.cache.get_or_init(|| self.shared.cache.stats())
    }
}

/// Renders the sections asked for (`[]`, `default`, `all` or `everything`: all of them).
pub fn render(shared: &Shared, asked: &[String]) -> String {
    let all = asked.is_empty()
        || asked
            .iter()
            .any(|s| matches!(s.as_str(), "all" | "default" | "everything"));
    let snap = Snapshot {
        shared,
        disk: Default::default(),
        cache: Default::default(),
    };
    let mut out = String::new();
    for &section in SECTIONS {
        if !all && !asked.iter().any(|a| a == section) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let title = format!("{}{}", section[..1].to_ascii_uppercase(), &section[1..]);
        let _ = writeln!(out, "# {title}\r");
        let body = match section {
            "server" => server(shared),
            "clients" => clients(shared),
            "memory" => memory(&snap),
            "persistence" => persistence(shared),
            "stats" => stats(&snap),
            "replication" => "role:master\r\nconnected_slaves:0\r\n".into(),
            "keyspace" => keyspace(&snap),
            _ => tiers(&snap),
        };
        out.push_str(&body);
    }
    out
}

fn server(shared: &Shared) -> String {
    let uptime = shared.started.elapsed().as_secs();
    let tcp_port = shared.config.listen.first().map_or(0, |a| a.port());
    format!(
        "redis_version:{REDIS_VERSION}\r\nstratacache_version:{}\r\nredis_mode:standalone\r\n\
         os:{} {}\r\narch_bits:64\r\nmultiplexing_api:threads\r\nprocess_id:{}\r\n\
         tcp_port:{tcp_port}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\n\
         executable:{}\r\nconfig_file:\r\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::process::id(),
        uptime / 86_400,
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    )
}

fn clients(shared: &Shared) -> String {
    format!(
        "connected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:0\r\n",
        shared.clients.count(),
        shared.config.max_clients
    )
}

fn memory(snap: &Snapshot<'_>) -> String {
    let shared = snap.shared;
    let rss = proc_status_bytes("VmRSS");
    let anon = proc_status_bytes("RssAnon");
    let memory_tier = snap
        .cache()
        .tiers
        .iter()
        .find(|t| t.tier == crate::TierKind::Memory)
        .and_then(|t| t.size_bytes)
        .unwrap_or(0);
    format!(
        "used_memory:{anon}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
         used_memory_rss_human:{}\r\nmaxmemory:{}\r\nmaxmemory_policy:allkeys-lru\r\n\
         memory_tier_bytes:{memory_tier}\r\n",
        human(anon),
        human(rss),
        shared.memory_budget,
    )
}

fn persistence(shared: &Shared) -> String {
    let always = shared.durable_writes();
    format!(
        "loading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:{}\r\n\
         rdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\naof_enabled:{}\r\n\
         aof_rewrite_in_progress:0\r\naof_last_write_status:ok\r\n",
        u8::from(shared.bgsave_running.load(Ordering::Relaxed)),
        shared.last_save.load(Ordering::Relaxed),
        u8::from(always),
    )
}

fn stats(snap: &Snapshot<'_>) -> String {
    let shared = snap.shared;
    let c = &shared.counters;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let disk = snap.disk();
    format!(
        "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
         total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n\
         expired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\
         total_error_replies:{}\r\n",
        get(&c.connections),
        get(&c.commands),
        get(&c.input_bytes),
        get(&c.output_bytes),
        get(&c.rejected),
        disk.expirations,
        disk.evictions,
        get(&c.keyspace_hits),
        get(&c.keyspace_misses),
        get(&c.errors),
    )
}

fn keyspace(snap: &Snapshot<'_>) -> String {
    match snap.disk().entries {
        0 => String::new(),
        n => format!("db0:keys={n},expires=0,avg_ttl=0\r\n"),
    }
}

fn tiers(snap: &Snapshot<'_>) -> String {
    let (shared, stats, disk) = (snap.shared, snap.cache(), snap.disk());
    let mut out = format!(
        "cache_hits:{}\r\ncache_misses:{}\r\ncache_errors:{}\r\n",
        stats.hits, stats.misses, stats.errors
    );
    for tier in &stats.tiers {
        out.push_str(&tier_line(tier));
    }
    let _ = write!(
        out,
        "disk_entries:{}\r\ndisk_live_bytes:{}\r\ndisk_bytes:{}\r\ndisk_capacity_bytes:{}\r\n\
         disk_effective_capacity_bytes:{}\r\ndisk_segments:{}\r\ndisk_evictions:{}\r\ndisk_expirations:{}\r\ndisk_corruptions:{}\r\n\
         disk_eviction_policy:{}\r\ndisk_probation_bytes:{}\r\ndisk_memory_bytes:{}\r\n\
         disk_memory_budget_bytes:{}\r\ndurability:{}\r\n",
        disk.entries,
        disk.live_bytes,
        disk.disk_bytes,
        disk.capacity_bytes,
        disk.effective_capacity_bytes,
        disk.segments,
        disk.evictions,
        disk.expirations,
        disk.corruptions,
        disk.eviction_policy,
        disk.probation_bytes,
        disk.memory_bytes,
        disk.memory_budget_bytes,
        if shared.durable_writes() {
            "always"
        } else {
            "checkpoint"
        },
    );
    out
}

/// One tier's `tier_<name>:` line. `entries` and `bytes` are left out for a tier that
/// cannot tell them (Redis), rather than shown as 0.
fn tier_line(tier: &crate::TierStats) -> String {
    let mut line = format!(
        "tier_{}:hits={},misses={},inserts={},promotions={},errors={}",
        tier.tier, tier.hits, tier.misses, tier.inserts, tier.promotions, tier.errors,
    );
    if let Some(entries) = tier.entries {
        let _ = write!(line, ",entries={entries}");
    }
    if let Some(bytes) = tier.size_bytes {
        let _ = write!(line, ",bytes={bytes}");
    }
    line.push_str("\r\n");
    line
}

fn human(bytes: u64) -> String {
    let mb = bytes as f64 / (1 << 20) as f64;
    if mb >= 1024.0 {
        format!("{:.2}G", mb / 1024.0)
    } else {
        format!("{mb:.2}M")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Evictions, TierKind, TierStats};

    fn stats(tier: TierKind, entries: Option<u64>, size_bytes: Option<u64>) -> TierStats {
        TierStats {
            tier,
            hits: 3,
            misses: 1,
            hit_ratio: 0.75,
            inserts: 2,
            promotions: 0,
            demotions: 0,
            errors: 0,
            skipped: 0,
            evictions: Evictions::default(),
            size_bytes,
            entries,
            memory_bytes: None,
            memory_budget_bytes: None,
        }
    }

    #[test]
    fn a_tier_line_leaves_out_what_the_tier_cannot_tell() {
        assert_eq!(
            tier_line(&stats(TierKind::Disk, Some(5), Some(4096))),
            "tier_disk:hits=3,misses=1,inserts=2,promotions=0,errors=0,entries=5,bytes=4096\r\n"
        );
        assert_eq!(
            tier_line(&stats(TierKind::Redis, None, None)),
            "tier_redis:hits=3,misses=1,inserts=2,promotions=0,errors=0\r\n"
        );
    }
}
