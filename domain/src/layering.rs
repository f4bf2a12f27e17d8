//! The features depend on each other in one direction:
//! tenancy ← catalog ← orders ← billing ← dunning. This test reads the
//! sources and fails on a reference against that direction that is not one
//! of the known exceptions below (none today). An effect against the
//! direction is a job (a payment's mail) or a guard the later feature
//! passes in (an order's hold on a tenant's plan).

use std::path::Path;

/// The features, each allowed to use those before it.
const ORDER: &[&str] = &["tenancy", "catalog", "orders", "billing", "dunning"];

/// References against the direction that exist today: (file, feature used).
const KNOWN: &[(&str, &str)] = &[];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn features_depend_on_each_other_in_one_direction() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for (rank, feature) in ORDER.iter().enumerate() {
        let mut files = Vec::new();
        sources(&root.join(feature), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for later in &ORDER[rank + 1..] {
                if code.contains(&format!("crate::{later}::"))
                    || code.contains(&format!("crate::{later};"))
                {
                    let rel = file.strip_prefix(&root).unwrap().display().to_string();
                    found.push((rel, (*later).to_owned()));
                }
            }
        }
    }
    let unknown: Vec<&(String, String)> = found
        .iter()
        .filter(|(f, t)| !KNOWN.iter().any(|(kf, kt)| kf == f && kt == t))
        .collect();
    assert!(
        unknown.is_empty(),
        "references against tenancy ← catalog ← orders ← billing ← dunning: {unknown:?}"
    );
    // A known exception that is gone is taken off the list.
    let stale: Vec<&(&str, &str)> = KNOWN
        .iter()
        .filter(|(kf, kt)| !found.iter().any(|(f, t)| f == kf && t == kt))
        .collect();
    assert!(stale.is_empty(), "no longer needed: {stale:?}");
}
