//! Caching OCR results with the tiered cache: a typed `OcrResult` (text, words with boxes
//! and confidences, language, page count) loaded through `get_with` around a slow OCR call.
//!
//! ```text
//! cargo run --release --example ocr_results            # cache in ./target/ocr-cache
//! cargo run --release --example ocr_results            # again: served from disk, no OCR
//! cargo run --release --example ocr_results -- DIR     # or keep the cache in DIR
//! ```
//!
//! The first run performs OCR for every document (simulated: 300 ms each). The second run
//! is a new process with an empty memory tier: every result comes from the disk tier, is
//! promoted into memory, and a second pass in the same run is served from memory.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stratacache::{Cache, DiskStore, TierKind};

/// One recognised word with its bounding box on the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Word {
    text: String,
    /// Left, top, width, height in pixels.
    bbox: [u32; 4],
    confidence: f32,
}

/// The result of OCR on one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OcrResult {
    text: String,
    words: Vec<Word>,
    language: String,
    page_count: u32,
}

/// Stands in for a real OCR engine: slow, deterministic output per document.
fn run_ocr(document: &str) -> OcrResult {
    std::thread::sleep(Duration::from_millis(300));
    let vocabulary = [
        "Rechnung", "Betrag", "Datum", "Kunde", "Summe", "fällig", "netto",
    ];
    let seed = document
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let page_count = 1 + seed % 4;
    let words: Vec<Word> = (0..400u32)
        .map(|i| {
            let pick = seed.wrapping_add(i.wrapping_mul(2_654_435_761)) as usize;
            Word {
                text: vocabulary[pick % vocabulary.len()].to_string(),
                bbox: [40 + (i % 12) * 90, 60 + (i / 12) * 28, 80, 22],
                confidence: 0.80 + (pick % 20) as f32 / 100.0,
            }
        })
        .collect();
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    OcrResult {
        text,
        words,
        language: "deu".into(),
        page_count,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/ocr-cache".into());
    let cache = Cache::builder()
        .memory(32 << 20)
        .disk(DiskStore::builder(&dir).capacity_bytes(256 << 20))
        .default_ttl(Duration::from_secs(7 * 24 * 3600))
        .open()?;
    let documents: Vec<String> = (1..=8)
        .map(|i| format!("scans/invoice-{i:03}.pdf"))
        .collect();

    for pass in 1..=2 {
        let started = Instant::now();
        let calls_before = cache.stats().loader_calls;
        for doc in &documents {
            let result: OcrResult = cache.get_with(format!("ocr/{doc}"), || run_ocr(doc))?;
            assert_eq!(result.words.len(), 400);
        }
        let stats = cache.stats();
        let tier_hits = |kind: TierKind| stats.tier(kind).map_or(0, |t| t.hits);
        println!(
            "pass {pass}: {} documents in {:>8.1?}  OCR runs {}  (hits so far: memory {}, disk {})",
            documents.len(),
            started.elapsed(),
            stats.loader_calls - calls_before,
            tier_hits(TierKind::Memory),
            tier_hits(TierKind::Disk),
        );
    }
    let result: OcrResult = cache.get(format!("ocr/{}", documents[0]))?.expect("cached");
    println!(
        "{}: {} page(s), language {}, {} words, first: {:?} at {:?} ({:.0}% confident)",
        documents[0],
        result.page_count,
        result.language,
        result.words.len(),
        result.words[0].text,
        result.words[0].bbox,
        result.words[0].confidence * 100.0
    );
    cache.close()?;
    println!("cache kept in {dir}; run again to see every result served from disk");
    Ok(())
}
