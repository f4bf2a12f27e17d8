//! The worker's modules depend on each other in one direction: each may use
//! those before it in [`ORDER`], never one after it. This test reads the
//! sources and fails on a reference against that order.
//!
//! A reference is a path in code (not in a `//` comment line) that starts
//! with `crate::` (a `use crate::{…}` group gives one path per leaf) or
//! `super::` (from the file's module, or after an inline `mod tests {`,
//! taken to run to the end of its file as every one here does, from that
//! module). It belongs to the longest module of the order it starts with. A module comes after its parts
//! (`kube` after `kube::target`), so a module naming its own part
//! (`clock::…` in `jobs/mod.rs`) is in order; the crate root (`lib.rs`) is
//! above every module, and this file is none of them.

use std::path::{Path, PathBuf};

/// The modules, each allowed to use those before it.
const ORDER: &[&str] = &[
    "metrics",
    "runner",
    "stripe_rail",
    "mail",
    "kube_target",
    "kube::crd",
    "kube::diff",
    "kube::render",
    "kube::render_app",
    "kube::target",
    "kube::controller",
    "kube::app_operator",
    "kube::operator",
    "kube",
    "context",
    "jobs",
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

/// The module a file under `src/` is: `kube/target.rs` is `kube::target`,
/// `kube/mod.rs` is `kube`, `lib.rs` is the root (empty).
fn module_of(relative: &Path) -> Vec<String> {
    let mut segments: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if matches!(segments.last().map(String::as_str), Some("mod" | "lib")) {
        segments.pop();
    }
    segments
}

/// The position in [`ORDER`] of the longest module `path` starts with.
fn rank(path: &str) -> Option<usize> {
    ORDER
        .iter()
        .enumerate()
        .filter(|(_, m)| path == **m || path.starts_with(&format!("{m}::")))
        .max_by_key(|(_, m)| m.len())
        .map(|(rank, _)| rank)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Reads the path (or `use` tree) at `code[*i..]` after `prefix`, adding
/// each full path to `out`.
fn tree(code: &[u8], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let skip_space = |i: &mut usize| {
        while *i < code.len() && code[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let mut path = prefix.to_vec();
    loop {
        skip_space(i);
        match code.get(*i) {
            Some(b'{') => {
                *i += 1;
                loop {
                    skip_space(i);
                    match code.get(*i) {
                        Some(b'}') | None => {
                            *i += 1;
                            return;
                        }
                        Some(b',') => *i += 1,
                        Some(_) => {
                            let before = *i;
                            tree(code, i, &path, out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            Some(b'*') => {
                *i += 1;
                out.push(path);
                return;
            }
            _ => {}
        }
        let start = *i;
        while *i < code.len() && is_ident(code[*i]) {
            *i += 1;
        }
        if *i == start {
            out.push(path);
            return;
        }
        path.push(String::from_utf8_lossy(&code[start..*i]).into_owned());
        if code[*i..].starts_with(b"::") {
            *i += 2;
            continue;
        }
        out.push(path);
        // `leaf as alias`: the alias names nothing.
        let mut j = *i;
        skip_space(&mut j);
        if code[j..].starts_with(b"as") && code.get(j + 2).is_some_and(u8::is_ascii_whitespace) {
            *i = j + 2;
            skip_space(i);
            while *i < code.len() && is_ident(code[*i]) {
                *i += 1;
            }
        }
        return;
    }
}

/// The modules `code`, in module `module`, refers to, as full paths.
fn references(code: &str, module: &[String]) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    for start in 0..bytes.len() {
        let at = &bytes[start..];
        let starts = at.starts_with(b"crate::") || at.starts_with(b"super::");
        if !starts || (start > 0 && (is_ident(bytes[start - 1]) || bytes[start - 1] == b':')) {
            continue;
        }
        let mut i = start;
        tree(bytes, &mut i, &[], &mut paths);
    }
    paths
        .into_iter()
        .map(|path| {
            let (kept, skip) = if path[0] == "crate" {
                (0, 1)
            } else {
                let ups = path.iter().take_while(|s| *s == "super").count();
                let kept = module.len().checked_sub(ups);
                (kept.expect("`super::` above the crate root"), ups)
            };
            let full: Vec<&str> = module[..kept]
                .iter()
                .chain(&path[skip..])
                .map(String::as_str)
                .collect();
            full.join("::")
        })
        .collect()
}

#[test]
fn modules_depend_on_each_other_in_one_direction() {
    for (i, module) in ORDER.iter().enumerate() {
        for part in &ORDER[i + 1..] {
            assert!(
                !part.starts_with(&format!("{module}::")),
                "{module} comes after its part {part}"
            );
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut used = vec![false; ORDER.len()];
    let mut against = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().to_owned();
        let module = module_of(&relative);
        // The root is above every module; this test is none of them.
        if module.is_empty() || module == ["layering"] {
            continue;
        }
        let name = module.join("::");
        let own = rank(&name).unwrap_or_else(|| panic!("{name} is not in the order"));
        used[own] = true;
        let text = std::fs::read_to_string(&file).unwrap();
        // The file's code, cut where an inline module starts.
        let mut parts: Vec<(String, Vec<String>)> = Vec::new();
        let (mut code, mut current) = (String::new(), module.clone());
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            let item = trimmed.strip_prefix("pub ").unwrap_or(trimmed);
            if let Some(inner) = item.strip_prefix("mod ").and_then(|m| m.strip_suffix(" {")) {
                assert_eq!(current, module, "{name}: a second inline module");
                parts.push((std::mem::take(&mut code), current.clone()));
                current.push(inner.to_owned());
            }
            code.push_str(line);
            code.push('\n');
        }
        parts.push((code, current));
        for (code, module) in parts {
            for path in references(&code, &module) {
                match rank(&path) {
                    Some(r) if r <= own => {}
                    _ => against.push(format!("{} uses {path}", relative.display())),
                }
            }
        }
    }
    assert!(
        against.is_empty(),
        "references against the order {ORDER:?}:\n{}",
        against.join("\n")
    );
    let stale: Vec<&str> = ORDER
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(m, _)| *m)
        .collect();
    assert!(stale.is_empty(), "no such module: {stale:?}");
}

#[test]
fn reads_every_path_of_a_use_group_and_resolves_super() {
    let module = ["kube".to_owned(), "operator".to_owned()];
    let code = "use crate::{kube::{crd::Tenant, target as t}, mail};\n\
                use super::render::{self, FINALIZER};\n\
                let x = super::app_operator::run(ctx);\n\
                pub(crate) fn f(my_crate::x: u8) {}";
    assert_eq!(
        references(code, &module),
        [
            "kube::crd::Tenant",
            "kube::target",
            "mail",
            "kube::render::self",
            "kube::render::FINALIZER",
            "kube::app_operator::run",
        ]
    );
    assert_eq!(rank("kube::target::ensure"), rank("kube::target"));
    assert_eq!(rank("kube::FIELD_MANAGER"), rank("kube"));
    assert_eq!(rank("WorkerContext"), None);
}
