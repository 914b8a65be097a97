//! Shared by the benchmarks: the test environment's env file (`scripts/test-env up`).

use std::collections::HashMap;
use std::path::PathBuf;

// Each bench binary compiles this file; not every one of them needs the test environment.
#[allow(dead_code)]
pub fn test_env() -> HashMap<String, String> {
    let path = std::env::var("LOOKOUT_TEST_ENV_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-env/env"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Start the test environment first: scripts/test-env up",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Percentile of sorted samples.
#[allow(dead_code)] // used by some benches only
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
