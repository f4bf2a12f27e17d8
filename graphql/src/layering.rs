//! The modules use each other in one direction: the shared ones, then the
//! areas of their own, then tenancy ← catalog ← orders ← billing ← dunning,
//! then `node` and the crate root. This test reads the sources and fails on
//! a reference against that direction, and on a module not placed in it.

use std::path::{Path, PathBuf};

/// Every module, each allowed to use only those before it.
#[rustfmt::skip]
const ORDER: &[&str] = &[
    // Shared: they use no area.
    "error", "context", "scalars", "common", "watch", "loaders", "limits",
    // Areas of their own.
    "viewer", "tokens", "audit",
    // The areas, in the domain's order.
    "tenancy", "catalog", "orders", "billing", "dunning",
    // On top: they name every area's objects, or merge their roots.
    "node", "lib",
    // Builds the schemas from the roots and runs requests on them.
    "executor",
];

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

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The leading identifier of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

/// The crate's top-level names a path after `crate::` starts with: one, or
/// each of a `{…}` group's.
fn first_segments(rest: &str) -> Vec<String> {
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest).to_owned()];
    };
    let (mut depth, mut start, mut names) = (0_usize, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(ident(group[start..].trim_start()).to_owned());
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(ident(group[start..].trim_start()).to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

/// The top-level modules `code` refers to, from a file `depth` modules
/// below the crate root (`catalog.rs`: 1, `tenancy/query.rs`: 2). After
/// `crate::`, a name that is no module is an item of the root, reported as
/// `lib`; after `super::`, only module names count (an inline `mod tests`
/// is one level deeper than its file).
fn references(code: &str, depth: usize) -> Vec<String> {
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let starts = code
        .char_indices()
        .filter(|&(i, _)| i == 0 || !code[..i].chars().next_back().is_some_and(is_ident));
    for (i, _) in starts {
        let rest = &code[i..];
        let after_root = if let Some(r) = rest.strip_prefix("crate::") {
            Some((r, true))
        } else {
            let mut r = rest;
            let mut ups = 0;
            while let Some(next) = r.strip_prefix("super::") {
                r = next;
                ups += 1;
            }
            (ups > 0 && ups >= depth).then_some((r, false))
        };
        if let Some((r, from_crate)) = after_root {
            for name in first_segments(r.trim_start()) {
                if ORDER.contains(&name.as_str()) {
                    found.push(name);
                } else if from_crate {
                    found.push("lib".to_owned());
                }
            }
        }
    }
    found
}

#[test]
fn modules_use_each_other_in_one_direction() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut against = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&root).unwrap().to_path_buf();
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        let module = parts[0].clone();
        if module == "layering" {
            continue;
        }
        let rank = ORDER.iter().position(|m| *m == module);
        assert!(rank.is_some(), "`{module}` has no place in ORDER");
        let depth = match parts.last().map(String::as_str) {
            Some("lib") => 0,
            Some("mod") => parts.len() - 1,
            _ => parts.len(),
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for used in references(&text, depth) {
            let used_rank = ORDER.iter().position(|m| *m == used);
            if used != module && used_rank >= rank {
                against.push((rel.display().to_string(), used));
            }
        }
    }
    against.sort();
    against.dedup();
    assert!(
        against.is_empty(),
        "references against the direction of ORDER: {against:?}"
    );
}

#[test]
fn references_are_read_in_every_form() {
    let code = "use crate::tenancy::Tenant;\n\
                use crate::{common::{Conn, Money}, error};\n\
                let x = super::orders::Order(o); // crate::dunning::x\n\
                $crate::common::Payload;\n\
                crate::Actor";
    assert_eq!(
        references(code, 1),
        ["tenancy", "common", "error", "orders", "common", "lib"]
    );
    // Two levels down, one `super` stays inside the area.
    assert!(references("use super::Tenant;", 2).is_empty());
    assert_eq!(references("use super::super::dunning::X;", 2), ["dunning"]);
    assert!(references("mod tests { use super::*; }", 1).is_empty());
}
