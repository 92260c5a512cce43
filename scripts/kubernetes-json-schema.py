"""Copies kubernetes-validate's strict schemas of one Kubernetes version for offline kubeconform.

  kubernetes-json-schema.py <version> <out dir>

kubernetes-validate's "-local-strict" schemas carry https $ids and reference
"/api/_definitions.json": the copy drops the $ids (they would make references resolve remotely) and
makes the references file-relative, so kubeconform resolves them on disk. Exits non-zero when
kubernetes-validate has no schemas for that version.
"""
import json
import pathlib
import sys

import kubernetes_validate


def main() -> None:
    version, out = sys.argv[1], pathlib.Path(sys.argv[2])
    source = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    if not source.is_dir():
        sys.exit(f"kubernetes-validate has no schemas for v{version}")
    out.mkdir(parents=True)
    for path in source.iterdir():
        if path.suffix != ".json":
            continue
        text = path.read_text().replace('"/api/_definitions.json#', '"_definitions.json#')
        schema = json.loads(text)
        schema.pop("$id", None)
        (out / path.name).write_text(json.dumps(schema))


if __name__ == "__main__":
    main()
