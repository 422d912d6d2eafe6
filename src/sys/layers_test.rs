//! The bottom layers look only down: values imports only values; strace
//! only values (and itself); sys only strace and values (and itself).

use std::path::Path;

/// Every `crate::NAME` a file under `dir` names, with the file.
fn imports(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            imports(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("layers_test.rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, _) in text.match_indices("crate::") {
                let name: String = text[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((p.display().to_string(), name));
            }
        }
    }
}

fn upward(layer: &str, allowed: &[&str]) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    imports(&dir, &mut found);
    assert!(!found.is_empty(), "no imports read under {}", dir.display());
    found
        .into_iter()
        .filter(|(_, name)| !allowed.contains(&name.as_str()))
        .collect()
}

#[test]
fn values_strace_and_sys_import_only_from_below() {
    assert_eq!(upward("values", &["values"]), vec![]);
    assert_eq!(upward("strace", &["values", "strace"]), vec![]);
    assert_eq!(upward("sys", &["values", "strace", "sys"]), vec![]);
}
