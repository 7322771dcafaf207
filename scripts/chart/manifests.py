#!/usr/bin/env python3
"""Offline checks of rendered chart manifests (run with the venv that has kubernetes-validate).

  manifests.py validate <file> --kube-version 1.30.0 --crd-out <file.json>
      Validates every built-in object against the Kubernetes API schemas of that version (strict:
      unknown fields fail), checks our pod policies, and writes the custom resources
      (ServiceMonitor, ScaledObject, TriggerAuthentication) to --crd-out for validate-crds.js. Prints one line per problem.
  manifests.py get <file> <Kind> <name> <dotted.path>
      Prints the JSON value at the path (e.g. spec.template.spec.containers.0.resources), or
      exits 1 when the object or path is missing: for targeted assertions in test.sh.
"""
import argparse
import json
import sys

import yaml
import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

CUSTOM_GROUPS = ("monitoring.coreos.com/", "keda.sh/")


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def pod_policy_problems(doc):
    """Our security and operability rules for workloads (what a reviewer would check by eye)."""
    problems = []
    if doc.get("kind") != "Deployment":
        return problems
    name = f"Deployment/{doc['metadata']['name']}"
    template = doc["spec"]["template"]
    pod = template["spec"]
    if "checksum/config" not in (template["metadata"].get("annotations") or {}):
        problems.append(f"{name}: pod template has no checksum/config annotation")
    if not (pod.get("securityContext") or {}).get("runAsNonRoot"):
        problems.append(f"{name}: pod securityContext.runAsNonRoot is not true")
    for kind in ("initContainers", "containers"):
        for c in pod.get(kind) or []:
            cname = f"{name} {kind[:-1]} {c['name']}"
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{cname}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cname}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{cname}: capabilities do not drop ALL")
            res = c.get("resources") or {}
            if not res.get("requests") or not res.get("limits"):
                problems.append(f"{cname}: resources need requests and limits")
            if kind == "containers":
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe not in c:
                        problems.append(f"{cname}: no {probe}")
    return problems


def validate(args):
    docs = load(args.file)
    problems, custom, checked = [], [], 0
    for doc in docs:
        ident = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        if str(doc.get("apiVersion", "")).startswith(CUSTOM_GROUPS):
            custom.append(doc)
            continue
        try:
            kubernetes_validate.validate(doc, args.kube_version, strict=True)
            checked += 1
        except ValidationError as e:
            where = ".".join(str(p) for p in e.caught.absolute_path) if hasattr(e, "caught") else ""
            problems.append(f"{ident}: {where}: {e.caught.message if hasattr(e, 'caught') else e}")
        except SchemaNotFoundError as e:
            problems.append(f"{ident}: no schema for {doc.get('apiVersion')} in Kubernetes {args.kube_version} ({e.message})")
        problems.extend(pod_policy_problems(doc))
    with open(args.crd_out, "w") as f:
        json.dump(custom, f)
    for p in problems:
        print(f"  {p}")
    print(f"  {checked} objects valid against Kubernetes {args.kube_version}, {len(custom)} custom resources handed on, {len(problems)} problems")
    return 1 if problems else 0


def get(args):
    for doc in load(args.file):
        if doc.get("kind") == args.kind and doc["metadata"]["name"] == args.name:
            value = doc
            for part in args.path.split(".") if args.path else []:
                try:
                    value = value[int(part)] if isinstance(value, list) else value[part]
                except (KeyError, IndexError, ValueError, TypeError):
                    print(f"{args.kind}/{args.name} has no {args.path}", file=sys.stderr)
                    return 1
            print(json.dumps(value, sort_keys=True))
            return 0
    print(f"no {args.kind}/{args.name} in {args.file}", file=sys.stderr)
    return 1


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate")
    v.add_argument("file")
    v.add_argument("--kube-version", required=True)
    v.add_argument("--crd-out", required=True)
    g = sub.add_parser("get")
    g.add_argument("file")
    g.add_argument("kind")
    g.add_argument("name")
    g.add_argument("path", nargs="?", default="")
    args = parser.parse_args()
    sys.exit(validate(args) if args.command == "validate" else get(args))


if __name__ == "__main__":
    main()
