"""Turns CustomResourceDefinition YAML files into strict JSON schemas for kubeconform.

    python3 scripts/crd-json-schema.py <out dir> <crd.yaml>...

scripts/install-tools.sh runs it for the CRDs listed in scripts/tools/kubernetes-schemas.txt.

Writes <out>/<group>/<Kind>_<version>.json for every served version (match it with
-schema-location '<out>/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json').
Strict like the Kubernetes "-strict" schemas: an object with declared properties rejects
undeclared ones, unless the CRD marks it x-kubernetes-preserve-unknown-fields.
"""

import json
import os
import sys

import yaml


def strict(node):
    if isinstance(node, dict):
        if (
            node.get("type") == "object"
            and "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        # int-or-string fields carry no type; JSON schema needs one to accept both.
        if node.get("x-kubernetes-int-or-string"):
            node.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)
    return node


def main(out, paths):
    written = 0
    for path in paths:
        with open(path) as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group = crd["spec"]["group"]
                kind = crd["spec"]["names"]["kind"].lower()
                for version in crd["spec"]["versions"]:
                    if not version.get("served", True):
                        continue
                    schema = strict(version["schema"]["openAPIV3Schema"])
                    schema["properties"]["metadata"] = {"type": "object"}
                    os.makedirs(os.path.join(out, group), exist_ok=True)
                    target = os.path.join(out, group, f"{kind}_{version['name']}.json")
                    with open(target, "w") as f_out:
                        json.dump(schema, f_out)
                    written += 1
    if written == 0:
        sys.exit("crd-json-schema: no CustomResourceDefinition found")
    print(f"crd-json-schema: {written} schemas written to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
