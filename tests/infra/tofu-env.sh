# shellcheck shell=bash disable=SC2154  # $root and $work come from the sourcing suite
# Sourced by the suites that run OpenTofu: points it at the provider mirror that
# scripts/install-tools.sh builds (.cache/tofu-providers) and forbids any registry download.
# Expects $root (repository root) and $work (a temp dir the caller removes).

tofu_mirror="$root/.cache/tofu-providers"
[ -d "$tofu_mirror/registry.opentofu.org" ] || {
  echo "provider mirror $tofu_mirror is missing: run scripts/install-tools.sh" >&2
  exit 1
}
export TF_CLI_CONFIG_FILE="$work/tofurc"
cat > "$TF_CLI_CONFIG_FILE" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$tofu_mirror"
    include = ["registry.opentofu.org/*/*"]
  }
  direct {
    exclude = ["registry.opentofu.org/*/*"]
  }
}
RC
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR
