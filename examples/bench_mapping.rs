//! How long a mapping file takes to load, by number of rules: the loading is meant to
//! grow linearly with the file (issue 22). Prints one line per size.
//!
//! `cargo run --release --example bench_mapping`

use std::fmt::Write as _;
use std::time::Instant;

use grantbridge::core::engine::Mapping;

fn mapping_text(rules: usize) -> String {
    let mut text = String::from("version = 1\n[principals]\nmatch = \"email\"\n\n");
    for n in 0..rules {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "[[rules]]\nname = \"rule {n}\"\nfrom = \"profile-{n}\"\n\
             [[rules.to]]\nprofile = \"Target {n}\"\n\n"
        );
    }
    text
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "{:>8} {:>10} {:>12} {:>14}",
        "rules", "bytes", "load", "per rule"
    );
    for rules in [1_000, 10_000, 100_000] {
        let text = mapping_text(rules);
        let start = Instant::now();
        let mapping = Mapping::parse(&text, "bench.toml")?;
        let took = start.elapsed();
        assert_eq!(mapping.rules.len(), rules);
        println!(
            "{rules:>8} {:>10} {:>10.1} ms {:>11.2} µs",
            text.len(),
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / rules as f64
        );
    }
    Ok(())
}
