//! The layer test (CONVENTIONS.md, "Layers"): every `crate::...` and
//! `super::...` path in `src/**/*.rs` points at the same layer or one
//! below, and sibling modules of one layer do not import each other in a
//! cycle (`programs::stream` -> `programs::model` -> `programs::stream`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom (0) to top (6), by a module's first path component.
fn layer(top: &str) -> Option<u8> {
    Some(match top {
        "values" => 0,
        "strace" => 1,
        "sys" => 2,
        "socket" | "inspect" | "wire" | "output" | "private_dir" => 3,
        "programs" | "net" => 4,
        "lab" | "bench" | "script" => 5,
        "cli" | "lib" | "main" | "layers" => 6,
        _ => return None,
    })
}

/// Upward imports that are known and being removed elsewhere:
/// (importing module, imported module). None left.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// Sibling cycles known and being removed elsewhere: (one module, the
/// other). None left.
const KNOWN_CYCLES: &[(&str, &str)] = &[];

/// The module path of a source file: `src/programs/model/event.rs` is
/// `programs::model::event`, `src/lab/mod.rs` is `lab`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments and string literals (a doc comment that
/// names `crate::x` is not an import).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // a char literal such as '"'
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Every path a file names: `crate::a::b`, `super::c`, and the branches
/// of `use crate::{a::b, c::{d, e}}`, as module paths from the crate root.
fn paths_in(code: &str, me: &[String], is_mod_rs: bool) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let i = from + at;
            from = i + start.len();
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            // Where `super` points: the parent of this module (of the
            // folder's module for a mod.rs, whose module is the folder).
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                let mut b = me.to_vec();
                if !is_mod_rs || !b.is_empty() {
                    b.pop();
                }
                b
            };
            let mut j = from;
            // Further `super::`s.
            while code[j..].starts_with("super::") {
                base.pop();
                j += "super::".len();
            }
            expand(&code[j..], &base, &mut found);
        }
    }
    found
}

/// Read one path (or a `{...}` group of them) after `prefix`.
fn expand(rest: &str, prefix: &[String], found: &mut Vec<Vec<String>>) {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut item = String::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&item, prefix, found);
                    item.clear();
                    continue;
                }
                _ => {}
            }
            item.push(c);
        }
        expand(&item, prefix, found);
        return;
    }
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() || ident == "self" {
        if !prefix.is_empty() {
            found.push(prefix.to_vec());
        }
        return;
    }
    let mut path = prefix.to_vec();
    path.push(ident.clone());
    let after = &rest[ident.len()..];
    match after.strip_prefix("::") {
        Some(more) => expand(more, &path, found),
        None => found.push(path),
    }
}

/// The modules among `path`'s components (stop at the first item).
fn module_prefix(src: &Path, path: &[String]) -> Vec<String> {
    let mut m = Vec::new();
    let mut dir = src.to_path_buf();
    for part in path {
        let file = dir.join(format!("{part}.rs"));
        let folder = dir.join(part);
        if !(file.is_file() || folder.join("mod.rs").is_file()) {
            break;
        }
        m.push(part.clone());
        dir = folder;
    }
    m
}

/// The two modules an import connects, as siblings under their common
/// parent: `programs::model::event` -> `programs::stream` is the edge
/// `programs::model` -> `programs::stream`. None for a module and its
/// own ancestor or descendant.
fn sibling_edge(from: &[String], to: &[String]) -> Option<(String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common >= from.len() || common >= to.len() {
        return None;
    }
    Some((from[..=common].join("::"), to[..=common].join("::")))
}

struct Imports {
    /// (file, importing module, imported module path).
    edges: Vec<(String, Vec<String>, Vec<String>)>,
}

fn imports(src: &Path) -> Imports {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let mut edges = Vec::new();
    for file in files {
        let me = module_of(src, &file);
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        let text = std::fs::read_to_string(&file).unwrap();
        // The layer test's own source names paths in its strings only.
        let code = code_only(&text);
        for path in paths_in(&code, &me, is_mod_rs) {
            let target = module_prefix(src, &path);
            if target.is_empty() {
                continue; // an item of lib.rs
            }
            edges.push((file.display().to_string(), me.clone(), target));
        }
    }
    Imports { edges }
}

/// Imports that point up a layer, as `file: a -> b (layer x -> y)`.
fn upward(imports: &Imports) -> Vec<String> {
    let mut bad = BTreeSet::new();
    for (file, from, to) in &imports.edges {
        let top_from = from.first().map_or("lib", String::as_str);
        let (Some(lf), Some(lt)) = (layer(top_from), layer(&to[0])) else {
            bad.insert(format!("{file}: {} or {} has no layer", top_from, to[0]));
            continue;
        };
        if lt > lf && !KNOWN_UPWARD.contains(&(top_from, to[0].as_str())) {
            bad.insert(format!(
                "{file}: {} imports {} (layer {lf} -> layer {lt})",
                from.join("::"),
                to.join("::")
            ));
        }
    }
    bad.into_iter().collect()
}

/// Cycles among sibling modules of one layer, each as `a -> b -> a`.
fn cycles(imports: &Imports) -> Vec<String> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, from, to) in &imports.edges {
        let from = if from.is_empty() {
            vec!["lib".to_string()]
        } else {
            from.clone()
        };
        let Some((a, b)) = sibling_edge(&from, to) else {
            continue;
        };
        let top = |m: &str| layer(m.split("::").next().unwrap_or(m));
        let known = KNOWN_CYCLES
            .iter()
            .any(|&(x, y)| (a == x && b == y) || (a == y && b == x));
        if top(&a) == top(&b) && !known {
            graph.entry(a).or_default().insert(b);
        }
    }
    // A cycle: b reaches a for some edge a -> b.
    let mut found = BTreeSet::new();
    for (a, outs) in &graph {
        for b in outs {
            if let Some(path) = route(&graph, b, a) {
                let mut cycle = vec![a.clone()];
                cycle.extend(path);
                found.insert(cycle.join(" -> "));
            }
        }
    }
    found.into_iter().collect()
}

/// A path from `from` to `to` in `graph` (breadth first), if any.
fn route(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from.to_string()]);
    let mut seen = BTreeSet::from([from.to_string()]);
    while let Some(n) = queue.pop_front() {
        if n == to {
            let mut path = vec![n.clone()];
            let mut cur = n;
            while let Some(p) = prev.get(&cur) {
                path.push(p.clone());
                cur = p.clone();
            }
            path.reverse();
            return Some(path);
        }
        for next in graph.get(&n).into_iter().flatten() {
            if seen.insert(next.clone()) {
                prev.insert(next.clone(), n.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_import_points_down_a_layer() {
    let bad = upward(&imports(&src_dir()));
    assert!(
        bad.is_empty(),
        "imports that point up a layer (values 0, strace 1, sys 2, socket/inspect/wire/output/private_dir 3, programs 4, lab/bench 5, cli 6):\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_cycle_between_sibling_modules() {
    let bad = cycles(&imports(&src_dir()));
    assert!(
        bad.is_empty(),
        "sibling modules that import each other:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_should() {
    let src = src_dir();
    let me = vec![
        "programs".to_string(),
        "model".to_string(),
        "event".to_string(),
    ];
    let code =
        "use crate::{output::Output, socket::{modes, buffer::buffer}};\nuse super::poller::Kind;";
    let got: Vec<Vec<String>> = paths_in(code, &me, false)
        .iter()
        .map(|p| module_prefix(&src, p))
        .collect();
    let want: Vec<Vec<String>> = [
        vec!["output"],
        vec!["socket", "modes"],
        vec!["socket", "buffer"],
        vec!["programs", "model", "poller"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);
    // An upward import and a sibling cycle are caught.
    let edge = |f: &str, t: &str| {
        let split = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        ("x.rs".to_string(), split(f), split(t))
    };
    let up = Imports {
        edges: vec![edge("socket::modes", "programs::stream")],
    };
    assert_eq!(upward(&up).len(), 1);
    let cyc = Imports {
        edges: vec![
            edge("programs::stream", "programs::model"),
            edge("programs::model::event", "programs::stream"),
        ],
    };
    assert_eq!(cycles(&cyc).len(), 2);
    assert!(sibling_edge(&edge("lab", "lab::basics").1, &edge("lab", "lab::basics").2).is_none());
}
