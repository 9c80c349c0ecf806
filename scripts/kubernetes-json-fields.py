#!/usr/bin/env python3
"""Writes proto/always-written.txt: for each API message, the JSON fields that
Kubernetes' Go types write even when they hold a zero value.

Go's encoding/json writes a field unless its tag says `omitempty` or
`omitzero`; and it writes a non-pointer struct field (`State ContainerState`)
even with `omitempty` (only `omitzero` leaves out a zero struct). proto3 has neither rule, so capstan-proto's build.rs reads this
table to keep those fields in the JSON form. The table is generated from the
Go sources rather than written by hand so that it is Kubernetes' own rule.

Usage: scripts/kubernetes-json-fields.py K8S_API_DIR APIMACHINERY_DIR > proto/always-written.txt
  K8S_API_DIR       a checkout of github.com/kubernetes/api
  APIMACHINERY_DIR  a checkout of github.com/kubernetes/apimachinery
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# proto package -> (Go package key, files relative to the checkouts)
PACKAGES = {
    "capstan.meta.v1": "meta",
    "capstan.core.v1": "core/v1",
    "capstan.apps.v1": "apps/v1",
    "capstan.coordination.v1": "coordination/v1",
    "capstan.autoscaling.v1": "autoscaling/v1",
    "capstan.autoscaling.v2": "autoscaling/v2",
    "capstan.rbac.v1": "rbac/v1",
    "capstan.discovery.v1": "discovery/v1",
}

# Go import aliases used in the types files -> Go package key
ALIASES = {"metav1": "meta", "v1": "core/v1", "corev1": "core/v1", "resource": "resource", "intstr": "intstr"}

# Capstan messages named differently from the Go struct they mirror.
GO_NAMES = {"KeySelector": "ConfigMapKeySelector"}

# Messages whose JSON form is not an object (written by hand in src/json.rs).
HAND_WRITTEN = {"Time", "MicroTime", "IntOrString", "Quantity", "FieldsV1"}

STRUCT_RE = re.compile(r"^type (\w+) struct \{$")
FIELD_RE = re.compile(r"^\s+(?:(\w+)\s+)?([\w.*\[\]]+)\s+`(.*)`")
JSON_TAG_RE = re.compile(r'json:"([^"]*)"')


def go_files(api, machinery):
    files = {key: [os.path.join(api, key, "types.go")] for key in PACKAGES.values() if key != "meta"}
    meta = os.path.join(machinery, "pkg/apis/meta/v1")
    files["meta"] = [os.path.join(meta, f) for f in ("types.go", "time.go", "micro_time.go")]
    files["intstr"] = [os.path.join(machinery, "pkg/util/intstr/intstr.go")]
    files["resource"] = [os.path.join(machinery, "pkg/api/resource/quantity.go")]
    return files


def parse_go(paths):
    """struct name -> list of (json name, Go type, {"empty", "zero"} as the
    tag's omitempty/omitzero say); an embedded struct tagged `,inline` (or
    untagged) is listed as ("", its type, set())
    and flattened by `fields_of`."""
    structs = {}
    for path in paths:
        current = None
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                m = STRUCT_RE.match(line)
                if m:
                    current = structs.setdefault(m.group(1), [])
                    continue
                if current is not None and line == "}":
                    current = None
                    continue
                if current is None:
                    continue
                m = FIELD_RE.match(line)
                if not m:
                    continue
                tag = JSON_TAG_RE.search(m.group(3))
                if not tag:
                    continue
                parts = tag.group(1).split(",")
                if parts[0] == "-":
                    continue  # not serialized
                if not parts[0] and m.group(1) is None:
                    current.append(("", m.group(2), set()))  # embedded inline
                    continue
                # Go 1.24's omitzero omits a zero struct too (metav1.Time since Kubernetes 1.33)
                omits = {"omitempty": "empty", "omitzero": "zero"}
                current.append((parts[0], m.group(2), {omits[p] for p in parts[1:] if p in omits}))
    return structs


def fields_of(name, package, structs_by_package):
    """The JSON fields of a Go struct with embedded inline structs flattened,
    as encoding/json does."""
    out = []
    for json_name, go_type, omitempty in structs_by_package[package].get(name, []):
        if json_name:
            out.append((json_name, go_type, omitempty))
            continue
        inner_package, inner = package, go_type
        if "." in go_type:
            alias, inner = go_type.split(".", 1)
            inner_package = ALIASES[alias]
        out.extend(fields_of(inner, inner_package, structs_by_package))
    return out


def is_struct(go_type, package, structs_by_package):
    if go_type.startswith(("*", "[]", "map[")):
        return False
    if "." in go_type:
        alias, name = go_type.split(".", 1)
        package = ALIASES.get(alias)
        if package is None:
            return False
    else:
        name = go_type
    return name in structs_by_package.get(package, {})


def always_written(go_type, omits, package, structs_by_package):
    if "zero" in omits:
        return False
    if is_struct(go_type, package, structs_by_package):
        return True  # omitempty never omits a struct value
    return "empty" not in omits


def proto_messages(package):
    """message name -> JSON names of its fields, read from the .proto files"""
    out = {}
    for dirpath, _, names in os.walk(os.path.join(ROOT, "proto/capstan")):
        for name in names:
            if not name.endswith(".proto"):
                continue
            text = open(os.path.join(dirpath, name)).read()
            if f"package {package};" not in text:
                continue
            for m in re.finditer(r"^message (\w+) \{(.*?)^\}", text, re.S | re.M):
                fields = []
                for f in re.finditer(r"^\s+(?:optional |repeated )?(?:map<[^>]+>|[\w.]+) (\w+) = \d+(?: \[json_name = \"(\w+)\"\])?;",
                                     m.group(2), re.M):
                    proto_name, json_name = f.group(1), f.group(2)
                    if not json_name:
                        head, *rest = proto_name.split("_")
                        json_name = head + "".join(w[:1].upper() + w[1:] for w in rest)
                    fields.append(json_name)
                out[m.group(1)] = fields
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    api, machinery = sys.argv[1], sys.argv[2]
    structs_by_package = {key: parse_go(paths) for key, paths in go_files(api, machinery).items()}
    def rev(directory, env):
        # an exported tree (git archive) has no .git; its commit can be given in the environment
        git = subprocess.run(["git", "-C", directory, "rev-parse", "HEAD"], capture_output=True, text=True)
        return git.stdout.strip() if git.returncode == 0 else os.environ.get(env, "unknown")

    print("# Generated by scripts/kubernetes-json-fields.py from kubernetes/api "
          f"{rev(api, 'K8S_API_REV')} and kubernetes/apimachinery {rev(machinery, 'K8S_APIMACHINERY_REV')}.")
    print("# Each line: a message, then the JSON fields Kubernetes writes even when zero")
    print("# (no `omitempty`, or a non-pointer struct without `omitzero`). Read by proto/build.rs.")
    for package, go_package in PACKAGES.items():
        structs = structs_by_package[go_package]
        for message, fields in sorted(proto_messages(package).items()):
            if message in HAND_WRITTEN:
                continue
            go_name = GO_NAMES.get(message, message)
            if go_name not in structs:
                print(f"# .{package}.{message}: no Go struct of that name", file=sys.stderr)
                continue
            go_fields = {name: (t, o) for name, t, o in fields_of(go_name, go_package, structs_by_package)}
            keep = []
            for field in fields:
                if field not in go_fields:
                    print(f"# .{package}.{message}.{field}: not in Kubernetes' {message}", file=sys.stderr)
                    continue
                go_type, omitempty = go_fields[field]
                if always_written(go_type, omitempty, go_package, structs_by_package):
                    keep.append(field)
            if keep:
                print(f".{package}.{message} {' '.join(keep)}")


if __name__ == "__main__":
    main()
