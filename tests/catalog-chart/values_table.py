"""The chart README's values table, generated from values.yaml and its `# --` comments.

    python3 values_table.py <chart dir>           writes the table into README.md
    python3 values_table.py <chart dir> --check   fails if README.md's table differs

A comment block starting with `# --` above a key documents it.
A documented map is one row (its default as JSON); an undocumented map is a section whose keys
get rows. <api>.config keys point at docs/configuration.md, which documents them. The table
sits in README.md between the markers below.
"""

import json
import re
import sys

import yaml

BEGIN, END = "<!-- values-table:begin -->", "<!-- values-table:end -->"
KEY = re.compile(r"^(\s*)([A-Za-z0-9_.-]+|\"[^\"]+\"):(.*)$")


def descriptions(lines):
    """Maps dotted key paths to the `# --` text written above them."""
    found, stack, pending = {}, [], None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = stripped[4:].strip()
            continue
        if stripped.startswith("#") and pending is not None:
            pending += " " + stripped.lstrip("#").strip()
            continue
        match = KEY.match(line)
        if not match or stripped.startswith("-"):
            pending = None if not stripped.startswith("#") else pending
            continue
        indent = len(match.group(1)) // 2
        stack = stack[:indent] + [match.group(2).strip('"')]
        if pending:
            found[".".join(stack)] = pending
        pending = None
    return found


def rows(values, docs, prefix=""):
    for key, value in values.items():
        path = f"{prefix}{key}"
        text = docs.get(path, "")
        if re.fullmatch(r"(writeApi|readApi)\.config", path):
            # The app's own settings: documented once, in docs/configuration.md.
            for sub, default, _ in rows(value, {}, ""):
                yield f"{path}.{sub}", default, f"`{sub}` of docs/configuration.md."
        elif isinstance(value, dict) and value and not text:
            yield from rows(value, docs, path + ".")
        else:
            yield path, json.dumps(value), text


def table(chart):
    with open(f"{chart}/values.yaml") as f:
        text = f.read()
    docs = descriptions(text.splitlines())
    out = ["| key | default | description |", "|---|---|---|"]
    for path, default, doc in rows(yaml.safe_load(text), docs):
        out.append(f"| `{path}` | `{default}` | {doc} |".replace("`\"\"`", '`""`'))
    return "\n".join(out)


def main(chart, check):
    generated = table(chart)
    path = f"{chart}/README.md"
    with open(path) as f:
        readme = f.read()
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    if not check:
        with open(path, "w") as f:
            f.write(readme[:start] + "\n" + generated + "\n" + readme[end:])
        print(f"wrote the values table into {path}")
        return 0
    if readme[start:end].strip() != generated:
        print(f"{path}: the values table is out of date; regenerate it with\n"
              f"  python3 tests/catalog-chart/values_table.py charts/catalog")
        return 1
    print(f"README.md values table matches values.yaml ({generated.count(chr(10)) - 1} keys)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--check" in sys.argv[2:]))
