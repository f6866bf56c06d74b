//! The embedded disk tier in one run: store 2,000 OCR pages, flush, reopen (as a restarted
//! process would), read everything back and print what the store reports.
//!
//! ```text
//! cargo run --release --example quickstart            # store in ./target/quickstart-store
//! cargo run --release --example quickstart -- DIR     # or in DIR
//! ```
//!
//! Run it twice: the second run finds the first run's pages already there.

use std::time::{Duration, Instant};

use stratacache::DiskStore;

/// A page of OCR-like text: lines of words with confidences, varying per page.
fn ocr_page(page: u32) -> String {
    const WORDS: &[&str] = &[
        "invoice",
        "total",
        "amount",
        "due",
        "date",
        "customer",
        "number",
        "the",
        "of",
        "and",
        "payment",
        "terms",
        "net",
        "thirty",
        "days",
        "reference",
        "order",
        "quantity",
        "unit",
    ];
    let mut text = format!("# page {page}\n");
    let mut x = page.wrapping_mul(2_654_435_761) | 1;
    for line in 0..60 {
        for word in 0..9 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let w = WORDS[(x % WORDS.len() as u32) as usize];
            text.push_str(&format!("{w}\t{line}\t{word}\t{}\n", 80 + x % 20));
        }
    }
    text
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/quickstart-store".into());
    let pages = 2_000u32;

    let store = DiskStore::builder(&dir).capacity_bytes(256 << 20).open()?;
    let already = store.contains_key("ocr/page-00000.tsv")?;
    println!(
        "store at {dir}: {}",
        if already {
            "reopened, pages from an earlier run are here"
        } else {
            "new"
        }
    );

    let texts: Vec<String> = (0..pages).map(ocr_page).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let started = Instant::now();
    for (page, text) in texts.iter().enumerate() {
        store.insert(format!("ocr/page-{page:05}.tsv"), text.as_bytes())?;
    }
    store.insert_with_ttl(
        "ocr/run-marker",
        b"expires in a minute",
        Duration::from_secs(60),
    )?;
    store.flush()?; // everything above is now durable, even across kill -9
    let took = started.elapsed();
    println!(
        "stored {pages} pages ({:.1} MiB) in {:.0} ms, flushed: {:.0} MiB/s",
        bytes as f64 / 1048576.0,
        took.as_secs_f64() * 1000.0,
        bytes as f64 / 1048576.0 / took.as_secs_f64()
    );
    drop(store);

    // A restarted process: open is O(1), reads are served from the mmapped segments.
    let started = Instant::now();
    let store = DiskStore::builder(&dir).open()?;
    let opened = started.elapsed();
    let started = Instant::now();
    for (page, text) in texts.iter().enumerate() {
        let value = store
            .get(format!("ocr/page-{page:05}.tsv"))?
            .ok_or("page missing after reopen")?;
        assert_eq!(&*value, text.as_bytes(), "page {page} differs");
    }
    let read = started.elapsed();
    println!(
        "reopened in {:.2} ms; read and checked all {pages} pages in {:.0} ms ({:.1} us per page)",
        opened.as_secs_f64() * 1000.0,
        read.as_secs_f64() * 1000.0,
        read.as_secs_f64() * 1e6 / pages as f64
    );
    let report = store.verify()?;
    let stats = store.stats()?;
    println!(
        "verify: {} records checked, {} bad; {} entries, {:.1} MiB of values stored in {:.1} MiB on disk (lz4), {} segments",
        report.checked,
        report.bad.len(),
        stats.entries,
        bytes as f64 / 1048576.0,
        stats.disk_bytes as f64 / 1048576.0,
        stats.segments
    );
    println!("stats: {}", serde_json::to_string(&stats)?);
    Ok(())
}
