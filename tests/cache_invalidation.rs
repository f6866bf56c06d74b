//! Invalidation across tiers: `invalidate_tag` retires every value carrying the tag in
//! every tier (including values only on disk) and keeps doing so after a restart, while
//! untagged and other-tag values stay; `remove_prefix` removes keys from memory and disk.

use stratacache::{Cache, InsertOptions, ManualClock, Placement, TierKind};

mod common;
use common::store::{MEMORY, no_timers, open_tiered, tiered};

fn memory_entries(cache: &Cache) -> u64 {
    let stats = cache.stats();
    stats
        .tiers
        .iter()
        .find(|t| t.tier == TierKind::Memory)
        .unwrap()
        .entries
        .expect("the memory tier counts its entries")
}

fn on_disk(cache: &Cache, key: &str) -> bool {
    cache.disk_store().unwrap().contains_key(key).unwrap()
}

#[test]
fn invalidate_tag_retires_tagged_values_in_every_tier_and_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    // Written before a restart: after it they are on disk only.
    cache
        .insert_with_tags("disk/u1", &"old profile", &["user:1"])
        .unwrap();
    cache
        .insert_with_tags("disk/u2", &"other user", &["user:2"])
        .unwrap();
    cache.close().unwrap();

    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    assert_eq!(memory_entries(&cache), 0);
    cache
        .insert_with_tags("mem/u1", &"profile", &["user:1", "lang:de"])
        .unwrap();
    cache
        .insert_with_tags("mem/u2", &"profile 2", &["user:2", "lang:de"])
        .unwrap();
    cache.insert("mem/plain", &"untagged").unwrap();
    cache
        .insert_with(
            "skip/u1",
            &"big",
            &InsertOptions::new()
                .tags(["user:1"])
                .placement(Placement::SkipMemory),
        )
        .unwrap();
    assert_eq!(memory_entries(&cache), 3);

    cache.invalidate_tag("user:1").unwrap();
    for key in ["disk/u1", "mem/u1", "skip/u1"] {
        assert_eq!(cache.get::<String>(key).unwrap(), None, "{key} is stale");
        assert!(!cache.contains_key(key).unwrap(), "{key}");
        // A stale value found by a read is dropped from every tier.
        assert!(!on_disk(&cache, key), "{key} still on disk");
    }
    assert_eq!(
        cache.get::<String>("disk/u2").unwrap().as_deref(),
        Some("other user")
    );
    assert_eq!(
        cache.get::<String>("mem/u2").unwrap().as_deref(),
        Some("profile 2")
    );
    assert_eq!(
        cache.get::<String>("mem/plain").unwrap().as_deref(),
        Some("untagged")
    );
    // mem/u2, mem/plain and the promoted disk/u2.
    assert_eq!(memory_entries(&cache), 3);
    assert_eq!(cache.stats().stale_by_tag, 3);

    // Invalidate a tag whose values nobody reads before the restart.
    cache.invalidate_tag("lang:de").unwrap();
    cache.close().unwrap();

    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    assert_eq!(cache.get::<String>("mem/u2").unwrap(), None, "lang:de");
    assert_eq!(cache.get::<String>("disk/u1").unwrap(), None);
    assert_eq!(
        cache.get::<String>("disk/u2").unwrap().as_deref(),
        Some("other user")
    );
    assert_eq!(
        cache.get::<String>("mem/plain").unwrap().as_deref(),
        Some("untagged")
    );

    // Tagged after the invalidation: a hit, now and after another restart.
    cache
        .insert_with_tags("mem/u1", &"new profile", &["user:1", "lang:de"])
        .unwrap();
    assert_eq!(
        cache.get::<String>("mem/u1").unwrap().as_deref(),
        Some("new profile")
    );
    cache.close().unwrap();
    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    assert_eq!(
        cache.get::<String>("mem/u1").unwrap().as_deref(),
        Some("new profile")
    );

    // A second invalidation retires it again.
    cache.invalidate_tag("user:1").unwrap();
    assert_eq!(cache.get::<String>("mem/u1").unwrap(), None);
    cache.close().unwrap();
    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    assert_eq!(cache.get::<String>("mem/u1").unwrap(), None);
    cache.close().unwrap();
}

#[test]
fn invalidate_tag_without_disk_tier() {
    let cache = Cache::builder().memory(1 << 20).open().unwrap();
    cache.insert_with_tags("a", &1u8, &["t"]).unwrap();
    cache.insert_with_tags("b", &2u8, &["u"]).unwrap();
    cache.invalidate_tag("t").unwrap();
    assert_eq!(cache.get::<u8>("a").unwrap(), None);
    assert_eq!(cache.get::<u8>("b").unwrap(), Some(2));
    cache.insert_with_tags("a", &3u8, &["t"]).unwrap();
    assert_eq!(cache.get::<u8>("a").unwrap(), Some(3));
}

#[test]
fn bad_tags_are_rejected() {
    let cache = Cache::builder().memory(1 << 20).open().unwrap();
    assert!(cache.invalidate_tag("").is_err());
    assert!(cache.insert_with_tags("k", &1u8, &[""]).is_err());
    let long = "t".repeat(10_000);
    assert!(cache.insert_with_tags("k", &1u8, &[long.as_str()]).is_err());
    let many: Vec<String> = (0..1000).map(|i| format!("tag{i}")).collect();
    assert!(cache.insert_with_tags("k", &1u8, &many).is_err());
    assert_eq!(cache.get::<u8>("k").unwrap(), None, "nothing was stored");
}

#[test]
fn remove_prefix_removes_from_memory_and_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    for i in 0..5 {
        cache.insert(format!("img/{i}"), &i).unwrap();
    }
    cache.insert("imgx", &"not under img/").unwrap();
    cache.insert("other", &"stays").unwrap();
    cache.close().unwrap();

    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    // img/0..2 are read (promoted into memory), img/3..4 stay on disk only; two more are
    // written now (memory and disk), one of them disk-only.
    for i in 0..3 {
        assert_eq!(cache.get::<i32>(format!("img/{i}")).unwrap(), Some(i));
    }
    cache.insert("img/new", &10).unwrap();
    cache
        .insert_with(
            "img/skip",
            &11,
            &InsertOptions::new().placement(Placement::SkipMemory),
        )
        .unwrap();
    cache.get::<String>("other").unwrap();
    assert_eq!(memory_entries(&cache), 5);

    let removed = cache.remove_prefix("img/").unwrap();
    assert_eq!(removed, 7, "the disk tier held all seven");
    for key in [
        "img/0", "img/1", "img/2", "img/3", "img/4", "img/new", "img/skip",
    ] {
        assert_eq!(cache.get::<i32>(key).unwrap(), None, "{key}");
        assert!(!on_disk(&cache, key), "{key} still on disk");
    }
    assert_eq!(memory_entries(&cache), 1, "only `other` stays in memory");
    assert!(on_disk(&cache, "imgx") && on_disk(&cache, "other"));
    assert_eq!(cache.remove_prefix("img/").unwrap(), 0);
    cache.close().unwrap();

    let cache = open_tiered(MEMORY, no_timers(dir.path()));
    for i in 0..5 {
        assert_eq!(cache.get::<i32>(format!("img/{i}")).unwrap(), None);
    }
    assert_eq!(cache.get::<i32>("img/new").unwrap(), None);
    assert_eq!(
        cache.get::<String>("imgx").unwrap().as_deref(),
        Some("not under img/")
    );
    assert_eq!(
        cache.get::<String>("other").unwrap().as_deref(),
        Some("stays")
    );
    cache.close().unwrap();
}

/// Tag generations live in rows of the disk index, one per tag ever invalidated. Opening
/// reads none of them (a generation is read when a value with the tag is first met), and
/// past 65,536 rows the oldest are pruned into per-bucket floors, without bringing back
/// any value an invalidation retired.
#[test]
fn open_reads_no_tag_rows_and_rows_stay_bounded() {
    const INVALIDATED: u64 = 100_000;
    const MAX_ROWS: usize = 65_536;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let open = || {
        tiered(MEMORY, no_timers(dir.path()))
            .clock(clock.clone())
            .open()
            .unwrap()
    };
    let cache = open();
    // Written before their tags were invalidated.
    cache.insert_with_tags("v/old0", &0u32, &["old:0"]).unwrap();
    cache.insert_with_tags("v/old7", &7u32, &["old:7"]).unwrap();
    cache
        .insert_with_tags("v/last", &9u32, &[last_tag()])
        .unwrap();
    cache.insert_with_tags("v/keep", &1u32, &["keep"]).unwrap();
    cache.insert("v/plain", &2u32).unwrap();
    // 100,000 invalidated tags, as invalidate_tag leaves them (in one commit, for speed):
    // old:i at generation START_MS - 200,000 + i, so old:0 is the oldest.
    let rows: Vec<(String, u64)> = (0..INVALIDATED)
        .map(|i| (format!("tag:old:{i}"), START_MS - 200_000 + i))
        .collect();
    let rows: Vec<(&str, u64)> = rows.iter().map(|(n, g)| (n.as_str(), *g)).collect();
    let store = cache.disk_store().unwrap();
    store.update_user_meta(&rows, &[]).unwrap();
    cache.close().unwrap();

    let cache = open();
    assert_eq!(cache.stats().tag_lookups, 0, "open reads no tag row");
    assert_eq!(cache.get::<u32>("v/keep").unwrap(), Some(1));
    assert_eq!(
        cache.get::<u32>("v/old7").unwrap(),
        None,
        "old:7 was invalidated"
    );
    assert_eq!(cache.get::<u32>("v/plain").unwrap(), Some(2));
    assert_eq!(cache.stats().tag_lookups, 2, "one point lookup per tag met");
    // The first tag this process invalidates counts the rows and prunes the oldest.
    cache.invalidate_tag(last_tag()).unwrap();
    let rows_left = tag_rows(&cache);
    assert!(rows_left <= MAX_ROWS, "{rows_left} rows");
    let pruned = cache.stats().tag_rows_pruned;
    assert_eq!(pruned as usize, INVALIDATED as usize + 1 - rows_left);
    // A value of a pruned tag written now is current.
    cache
        .insert_with_tags("v/new0", &10u32, &["old:0"])
        .unwrap();
    cache.close().unwrap();

    let cache = open();
    assert_eq!(cache.stats().tag_lookups, 0, "open reads no tag row");
    assert_eq!(
        cache.get::<u32>("v/old0").unwrap(),
        None,
        "old:0 was pruned, its invalidation holds"
    );
    assert_eq!(cache.get::<u32>("v/last").unwrap(), None, "kept row");
    assert_eq!(cache.get::<u32>("v/new0").unwrap(), Some(10));
    assert_eq!(cache.get::<u32>("v/plain").unwrap(), Some(2));
    assert!(cache.stats().tag_lookups <= 2);
    // Invalidating a pruned tag again retires its new value, after a restart too.
    cache.invalidate_tag("old:0").unwrap();
    assert_eq!(cache.get::<u32>("v/new0").unwrap(), None);
    cache.close().unwrap();
    let cache = open();
    assert_eq!(cache.get::<u32>("v/new0").unwrap(), None);
    assert_eq!(tag_rows(&cache), rows_left + 1, "old:0 has a row again");
    cache.close().unwrap();
}

const START_MS: u64 = 1_000_000_000_000;

/// A tag invalidated after the 100,000 others, so its row is the newest.
fn last_tag() -> &'static str {
    "last"
}

fn tag_rows(cache: &Cache) -> usize {
    let mut rows = 0;
    cache
        .disk_store()
        .unwrap()
        .visit_user_meta("tag:", |_, _| {
            rows += 1;
            true
        })
        .unwrap();
    rows
}
