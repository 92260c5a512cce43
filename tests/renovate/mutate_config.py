"""Writes a changed copy of a renovate.json to standard output, for the suite's negative checks.

  mutate_config.py <renovate.json> set <key> <json value>   the option set (or added) at the top
  mutate_config.py <renovate.json> break-go-tools           the go-tools manager's regex made to
                                                             match nothing
"""
import json
import sys


def main() -> None:
    path, action, *args = sys.argv[1:]
    with open(path) as f:
        config = json.load(f)
    if action == "set":
        key, value = args
        config[key] = json.loads(value)
    elif action == "break-go-tools":
        manager = next(m for m in config["customManagers"]
                       if any("go-tools" in p for p in m["managerFilePatterns"]))
        manager["matchStrings"] = [s.replace("@(?<currentValue>v", "@(?<currentValue>x")
                                   for s in manager["matchStrings"]]
    else:
        sys.exit(f"unknown action {action!r}")
    json.dump(config, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
