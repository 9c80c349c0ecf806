//! Manifests given with `-f`: files, directories and stdin, decoded into
//! objects (every document of every file, in order), and placed in the
//! namespace the command works in.
//!
//! Decoding is all-or-nothing: a broken document stops the command before
//! anything is sent, with an error naming the file, document and field.

use crate::config::Settings;
use crate::errors::CliError;
use capstan_proto::api::v1::Object;
use capstan_proto::object::parse_manifests;
use capstan_proto::{kinds, KindInfo, ObjectExt};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every object in `files`, in the order given (directories sorted by name).
pub fn read(files: &[String], recursive: bool) -> Result<Vec<Object>, CliError> {
    let mut objects = Vec::new();
    for file in files {
        if file == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| CliError::io(Path::new("STDIN"), e))?;
            objects.extend(parse_manifests("STDIN", &text)?);
            continue;
        }
        let path = Path::new(file);
        let paths = if path.is_dir() { dir_files(path, recursive)? } else { vec![path.to_path_buf()] };
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| CliError::io(&path, e))?;
            objects.extend(parse_manifests(&path.display().to_string(), &text)?);
        }
    }
    if objects.is_empty() {
        return Err(CliError::Usage("no objects passed to the command".to_string()));
    }
    Ok(objects)
}

/// The manifest files of a directory: .yaml, .yml and .json, sorted.
fn dir_files(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            if recursive {
                out.extend(dir_files(&path, true)?);
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json")) {
            out.push(path);
        }
    }
    Ok(out)
}

/// Checks the object is a stored kind with a name, and settles its
/// namespace: the manifest's, else the command's; cluster-scoped kinds have
/// none. Returns the kind.
pub fn place(object: &mut Object, settings: &Settings) -> Result<&'static KindInfo, CliError> {
    let kind = object.kind_name();
    let info = object
        .info()
        .and_then(|i| kinds::lookup(i.resource))
        .ok_or_else(|| CliError::Usage(format!("a {kind} cannot be written directly")))?;
    let Some(meta) = object.meta_mut() else {
        return Err(CliError::Usage(format!("a {kind} without metadata")));
    };
    if meta.name.is_empty() {
        return Err(CliError::Usage(format!("{} has no metadata.name", info.kind)));
    }
    if !info.namespaced {
        meta.namespace.clear();
    } else if meta.namespace.is_empty() {
        meta.namespace = settings.namespace.clone();
    } else if settings.namespace_given && meta.namespace != settings.namespace {
        return Err(CliError::Usage(format!(
            "the namespace from the provided object \"{}\" does not match the namespace \"{}\". \
             You must pass '--namespace={}' to perform this operation.",
            meta.namespace, settings.namespace, meta.namespace
        )));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ns: &str, given: bool) -> Settings {
        Settings {
            server: String::new(),
            namespace: ns.into(),
            namespace_given: given,
            credentials: Default::default(),
        }
    }

    fn one(text: &str) -> Object {
        parse_manifests("t.yaml", text).expect("parses").remove(0)
    }

    #[test]
    fn place_fills_and_checks_namespaces() {
        let mut pod = one("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n");
        assert_eq!(place(&mut pod, &settings("team", false)).expect("placed").kind, "Pod");
        assert_eq!(pod.meta().namespace, "team");

        let mut node = one("apiVersion: v1\nkind: Node\nmetadata: {name: n, namespace: x}\n");
        place(&mut node, &settings("team", true)).expect("placed");
        assert_eq!(node.meta().namespace, "");

        let mut other = one("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: prod}\n");
        assert!(place(&mut other.clone(), &settings("default", false)).is_ok());
        let err = place(&mut other, &settings("dev", true)).expect_err("mismatch").to_string();
        assert!(err.contains("--namespace=prod"), "{err}");

        let mut unnamed = one("apiVersion: v1\nkind: Pod\nmetadata: {generateName: a-}\n");
        assert!(place(&mut unnamed, &settings("default", false)).is_err());
    }

    #[test]
    fn read_walks_directories_in_order_and_names_bad_documents() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("b.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
            .expect("write");
        std::fs::write(
            dir.path().join("a.yml"),
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a1}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a2}\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").expect("write");
        let objects = read(&[dir.path().display().to_string()], false).expect("reads");
        let names: Vec<_> = objects.iter().map(|o| o.meta().name.clone()).collect();
        assert_eq!(names, ["a1", "a2", "b"]);

        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containerz: []}\n")
            .expect("write");
        let err = read(&[bad.display().to_string()], false).expect_err("unknown field").to_string();
        assert!(err.contains("bad.yaml (document 1)") && err.contains("containerz"), "{err}");

        let missing = read(&["/nonexistent/file.yaml".to_string()], false).expect_err("missing").to_string();
        assert!(missing.starts_with("error: /nonexistent/file.yaml"), "{missing}");
    }
}
