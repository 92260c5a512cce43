"""Writes each app config file a rendered chart ships (ConfigMap key config.yaml) to a directory,
one <configmap-name>.yaml per API, and prints `<binary> <file>` per line for check-config."""
import sys

import yaml

rendered, out_dir = sys.argv[1], sys.argv[2]
for doc in yaml.safe_load_all(open(rendered)):
    if not doc or doc.get("kind") != "ConfigMap" or "config.yaml" not in doc.get("data", {}):
        continue
    component = doc["metadata"]["labels"].get("app.kubernetes.io/name", "")
    if component not in ("write-api", "read-api"):
        sys.exit(f"config ConfigMap {doc['metadata']['name']} has no write-api/read-api name label")
    path = f"{out_dir}/{doc['metadata']['name']}.yaml"
    with open(path, "w") as file:
        file.write(doc["data"]["config.yaml"])
    print(component, path)
