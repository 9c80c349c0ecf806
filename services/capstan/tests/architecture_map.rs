//! ARCHITECTURE.md's code map is the first page a new engineer reads: it must name
//! every crate of the workspace, at the path where the crate lives, and name no
//! crate that is gone. `cargo metadata` is the truth it is checked against.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root")
}

/// Each workspace package's name and its folder relative to the root.
fn packages(root: &Path) -> Vec<(String, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(root)
        .output()
        .expect("running cargo metadata");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|package| {
            let name = package["name"].as_str().expect("a package name").to_string();
            let manifest = Path::new(package["manifest_path"].as_str().expect("a manifest path"));
            let folder = manifest.parent().expect("the package folder").strip_prefix(root).expect("inside the root");
            (name, folder.display().to_string())
        })
        .collect()
}

/// The code map's rows: the first cell of each table row under "Code map".
fn map_rows(architecture: &str) -> Vec<String> {
    architecture
        .lines()
        .skip_while(|line| !line.starts_with("| crate (path)"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| line.split('|').nth(1).unwrap_or_default().trim().to_string())
        .collect()
}

/// The backticked words of a cell: crate names and `(path)` folders.
fn quoted(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(|word| word.trim_end_matches('/').to_string()).collect()
}

#[test]
fn the_code_map_names_every_crate_at_its_path_and_no_other() {
    let root = workspace_root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("reading ARCHITECTURE.md");
    let rows = map_rows(&architecture);
    assert!(rows.len() > 10, "the code map table was not found: {rows:?}");
    let words: BTreeSet<String> = rows.iter().flat_map(|row| quoted(row)).collect();

    let mut missing = Vec::new();
    for (name, folder) in packages(&root) {
        // the bench crates share one row: `capstan-bench-apiserver`, `-scheduler`, … (`bench/*`)
        let named =
            words.contains(&name) || name.strip_prefix("capstan-bench").is_some_and(|rest| words.contains(rest));
        let placed = words.contains(&folder) || folder.starts_with("bench/") && words.contains("bench/*");
        if !named || !placed {
            missing.push(format!("{name} ({folder})"));
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map leaves out: {missing:?}");

    for word in &words {
        let path = word.trim_end_matches("/*");
        if path.contains('/') || path == "proto" {
            assert!(root.join(path).exists(), "ARCHITECTURE.md's code map names {word}, which does not exist");
        }
    }
}
