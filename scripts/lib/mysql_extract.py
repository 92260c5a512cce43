#!/usr/bin/env python3
"""Pulls what scripts/lib/mysql-pods.sh runs out of `helm template` output, so every MariaDB
started on this machine executes exactly what the mysql chart ships:

  <out>/scripts/*     the data of ConfigMap <fullname>-scripts (the pod's /opt/mysql/scripts)
  <out>/pod.env       the mariadb container's env, one NAME=value a line (for env -i)
  <out>/accounts      the accounts whose Secrets the pod mounts (secret-<account> volumes)
  <out>/exporter.args the exporter sidecar's arguments, one a line, when rendered
  <out>/rules.yaml    the PrometheusRule's spec (a Prometheus rule file), when rendered

usage: extract.py RENDERED_YAML FULLNAME OUT_DIR
"""
import pathlib
import sys

import yaml


def main() -> None:
    rendered, fullname, out = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    docs = [d for d in yaml.safe_load_all(pathlib.Path(rendered).read_text()) if d]
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in docs}

    scripts = out / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    for name, text in by_kind[("ConfigMap", f"{fullname}-scripts")]["data"].items():
        path = scripts / name
        path.write_text(text)
        path.chmod(0o555)

    pod = by_kind[("StatefulSet", fullname)]["spec"]["template"]["spec"]
    mariadb = next(c for c in pod["containers"] if c["name"] == "mariadb")
    lines = [f"{e['name']}={e['value']}" for e in mariadb["env"]]
    (out / "pod.env").write_text("\n".join(lines) + "\n")
    accounts = [v["name"].removeprefix("secret-") for v in pod["volumes"] if v["name"].startswith("secret-")]
    (out / "accounts").write_text("\n".join(accounts) + "\n")

    exporter = next((c for c in pod["containers"] if c["name"] == "exporter"), None)
    if exporter:
        (out / "exporter.args").write_text("\n".join(exporter["args"]) + "\n")

    rule = by_kind.get(("PrometheusRule", fullname))
    if rule:
        (out / "rules.yaml").write_text(yaml.safe_dump(rule["spec"], sort_keys=False))


if __name__ == "__main__":
    main()
