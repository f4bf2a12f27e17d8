//! The features depend on each other in one direction:
//! tenancy ← catalog ← orders ← billing ← dunning, and the kernel (every
//! other module: the use-case runner, entities, money, auth, jobs …)
//! depends on none of them. This test reads the sources and fails on a
//! reference against that. An effect against the direction is a job (a
//! payment's mail) or a guard the later feature passes in (an order's hold
//! on a tenant's plan).

use std::path::{Path, PathBuf};

/// The features, each allowed to use those before it.
const ORDER: &[&str] = &["tenancy", "catalog", "orders", "billing", "dunning"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The features `file` names, outside comments.
fn features_used(file: &Path) -> Vec<&'static str> {
    let text = std::fs::read_to_string(file).unwrap();
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    ORDER
        .iter()
        .copied()
        .filter(|f| {
            code.contains(&format!("crate::{f}::")) || code.contains(&format!("crate::{f};"))
        })
        .collect()
}

#[test]
fn features_depend_on_each_other_in_one_direction_and_the_kernel_on_none() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut against = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs");
        if top == "lib" || top == "layering" {
            continue;
        }
        // A feature may use those before it; the kernel none.
        let allowed = ORDER
            .iter()
            .position(|f| *f == top)
            .map_or(0, |rank| rank + 1);
        for used in features_used(file) {
            if !ORDER[..allowed].contains(&used) {
                against.push(format!("{} uses {used}", rel.display()));
            }
        }
    }
    assert!(
        against.is_empty(),
        "references against kernel ← tenancy ← catalog ← orders ← billing ← dunning: {against:?}"
    );
}
