#!/usr/bin/env python3
"""helmfile.yaml is plain YAML (helmfile v1 renders only *.gotmpl): environments, then ---, then
releases with safe defaults.

usage: check_plain_yaml.py HELMFILE_YAML
"""
import sys, yaml
text = open(sys.argv[1]).read()
assert "{{" not in text, "helmfile.yaml must not use templates (helmfile v1 renders only *.gotmpl)"
environments, releases = yaml.safe_load_all(text)
assert set(environments["environments"]) == {"local", "staging", "production", "ci"}, environments
defaults = releases["helmDefaults"]
for key in ("wait", "waitForJobs", "createNamespace", "atomic"):
    assert defaults.get(key) is True, f"helmDefaults.{key} must be true"
assert defaults.get("timeout", 0) > 0 and defaults.get("historyMax", 0) > 0, defaults
assert "--dry-run=server" in defaults.get("diffArgs", []), "helm-diff needs --dry-run=server for the charts' lookup()"
names = [r["name"] for r in releases["releases"]]
catalog = next(r for r in releases["releases"] if r["name"] == "catalog")
assert catalog["needs"] == ["kube-system/csi-driver-nfs"] and names.index("csi-driver-nfs") < names.index("catalog"), names
print("plain YAML; helmDefaults", {k: defaults[k] for k in sorted(defaults)}, "; releases in order", names)
