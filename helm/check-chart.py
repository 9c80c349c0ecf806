#!/usr/bin/env python3
"""Lints the Capstan chart, renders it for a matrix of values, and validates
every rendered object against Kubernetes 1.32's schemas, strictly.

Helm itself comes from PyPI's helm-python-sdk (Helm's Go SDK behind a C ABI:
no helm binary is packaged for Debian), the schemas from kubernetes-validate;
scripts/setup.sh installs both.

Usage: helm/check-chart.py [--containers]
  --containers  also print, as one JSON document, every container of every
                case (case, object, container, command, args, env), which the
                chart's Rust test runs through each binary's own flag parser

Exits non-zero naming the case, template and object of the first problem.
"""

import json
import os
import sys
import tempfile

import helm_python as helm
import kubernetes_validate
import yaml

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "capstan")
KUBERNETES = "1.32.0"

DOCKER = {"name": "docker", "runtime": "docker"}
CONTAINERD = {"name": "ctrd", "runtime": "containerd", "podSubnet": "10.244.1.0/24", "proxyMode": "random"}
ETCD = {"store": "etcd", "replicas": 2, "etcd": {"servers": ["http://etcd-0.etcd:2379", "http://etcd-1.etcd:2379"]}}

# (case name, values): embedded and etcd stores, one and two pools, both
# runtimes, one and several replicas, a made and an existing PKI Secret
CASES = [
    ("defaults", {}),
    ("embedded-containerd", {"nodePools": [CONTAINERD]}),
    ("etcd-two-pools", {"apiserver": ETCD, "nodePools": [DOCKER, CONTAINERD]}),
    (
        "etcd-single-replicas-existing-pki",
        {
            "apiserver": dict(ETCD, replicas=1, service={"type": "NodePort", "port": 6443, "nodePort": 30443}),
            "scheduler": {"replicas": 1},
            "controllerManager": {"replicas": 1, "controllers": "*,-horizontalpodautoscaling"},
            "pki": {"existingSecret": "my-pki", "extraSANs": ["127.0.0.1", "capstan.example.com"]},
            "image": {"registry": "registry.example.com", "tag": "0.1.0-test"},
            "nodePools": [dict(DOCKER, kubeletPort=11250, nodeSelector={"capstan.io/pool": "docker"})],
        },
    ),
    (
        "dns-two-pools",
        {
            "dns": {"enabled": True, "clusterIP": "10.96.0.10", "upstream": ["192.0.2.53:53"]},
            "nodePools": [DOCKER, CONTAINERD],
        },
    ),
]


# (case name, values, what the refusal must say): values a user gets wrong are
# refused with a message naming the value, before anything is installed
REFUSED = [
    ("unknown-runtime", {"nodePools": [{"name": "x", "runtime": "cri-o"}]}, "runtime"),
    ("etcd-without-servers", {"apiserver": {"store": "etcd"}}, "apiserver.etcd.servers"),
    ("misspelt-value", {"scheduler": {"replica": 2}}, "replica"),
    ("bad-proxy-mode", {"nodePools": [{"name": "x", "runtime": "docker", "proxyMode": "least-conn"}]}, "proxyMode"),
    ("dns-without-cluster-ip", {"dns": {"enabled": True}}, "dns.clusterIP"),
]


class ChartProblem(Exception):
    pass


def lint():
    report = helm.lint(CHART, strict=True, kube_version="v" + KUBERNETES)
    problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    problems += [{"path": "", "error": e} for e in report.get("errors", [])]
    if problems:
        raise ChartProblem("lint: " + "; ".join(f"{m['path']}: {m['error']}" for m in problems))


def render(case, values):
    chart = helm.Chart.load(CHART)
    try:
        chart.validate_schema(values)
        rendered = chart.render(values, name="capstan", namespace="capstan", is_install=True)
    except helm.HelmError as error:
        raise ChartProblem(f"{case}: rendering failed: {error}") from error
    objects = []
    for template, text in sorted(rendered.items()):
        if not template.endswith(".yaml"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append((template, document))
    if not objects:
        raise ChartProblem(f"{case}: rendered nothing")
    return objects


def validate(case, objects):
    for template, document in objects:
        name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(document, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(p) for p in error.path)
            raise ChartProblem(f"{case}: {template}: {name}: {path}: {error.message}") from error
        except kubernetes_validate.utils.SchemaNotFoundError as error:
            raise ChartProblem(f"{case}: {template}: {name}: no Kubernetes {KUBERNETES} schema: {error}") from error


def refused(case, values, expected):
    try:
        render(case, values)
    except ChartProblem as problem:
        if expected not in str(problem):
            raise ChartProblem(f"{case}: refused, but the message does not name {expected!r}: {problem}") from problem
        return str(problem)
    raise ChartProblem(f"{case}: rendered values that must be refused: {values}")


def containers(case, objects):
    for template, document in objects:
        spec = document.get("spec", {})
        pod = spec.get("template", {}).get("spec") if "template" in spec else spec
        if document.get("kind") == "Job":
            pod = spec["template"]["spec"]
        if not isinstance(pod, dict):
            continue
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            where = {"case": case, "object": f"{document['kind']}/{document['metadata']['name']}"}
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            yield dict(
                where,
                container=container["name"],
                image=container["image"],
                command=container.get("command", []),
                args=container.get("args", []),
                env=env,
            )
            # exec probes run a binary of the image too
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                command = container.get(probe, {}).get("exec", {}).get("command")
                if command:
                    yield dict(where, container=f"{container['name']} {probe}", image=container["image"],
                               command=command, args=[], env=env)


def main():
    want_containers = "--containers" in sys.argv[1:]
    everything = []
    try:
        lint()
        for case, values in CASES:
            objects = render(case, values)
            validate(case, objects)
            everything.extend(containers(case, objects))
            if not want_containers:
                print(f"check-chart: {case}: {len(objects)} objects valid against Kubernetes {KUBERNETES}")
        for case, values, expected in REFUSED:
            message = refused(case, values, expected)
            if not want_containers:
                print(f"check-chart: {case}: refused ({' '.join(message.split())[:200]})")
    except ChartProblem as problem:
        print(f"check-chart: {problem}", file=sys.stderr)
        return 1
    if want_containers:
        json.dump(everything, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
