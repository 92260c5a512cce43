#!/usr/bin/env python3
"""Checks the helmfile, tofu and helm commands shown in the runbooks against the real tools.

Usage: check_runbooks.py <offline helmfile.yaml> <doc.md>...

Every command in a ```sh block whose program is helmfile, tofu or helm (also inside `$(...)`,
`&&` chains and pipes) is checked as far as this machine allows:
- helmfile: the environment exists (`helmfile -e <env> list` on the offline copy), and the
  subcommand with the doc's flags parses (`helmfile <subcommand> <flags> --help`); subcommands
  that need no cluster (list, lint, template, write-values, build) are the ones
  tests/suites/60-helmfile.sh runs for every environment.
- tofu: -chdir names an env root that tests/suites/50-infra.sh initialises, validates and tests;
  the subcommand and its flags exist (`tofu <subcommand> -help`); `output NAME` names a declared
  output and `-var NAME=...` a declared variable of that root.
- helm: the subcommand with the doc's flags parses (`helm <subcommand> ... --help`).
Other programs (kubectl, kind, curl, k6) need a cluster or a network and are not checked here.
"""
import pathlib
import re
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OFFLINE_HELMFILE = sys.argv[1]
DOCS = [pathlib.Path(p) for p in sys.argv[2:]]
RUN_OFFLINE = {"list", "lint", "template", "write-values", "build"}
INFRA_SUITE = (ROOT / "tests/suites/50-infra.sh").read_text()
results = {"passed": 0, "failed": 0}


def report(doc, command, problems):
    if problems:
        results["failed"] += 1
        print(f"FAIL {doc}: {command}\n       " + "\n       ".join(problems))
    else:
        results["passed"] += 1
        print(f"ok   {doc}: {command}")


def shell_blocks(text):
    for block in re.findall(r"^ *```(?:sh|bash|shell)\n(.*?)^ *```", text, flags=re.S | re.M):
        yield re.sub(r"\\\n\s*", " ", block)


def without_redirections(words):
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif re.fullmatch(r"[0-9]*(>>?|<)(&[0-9])?", word):
            skip = not word.endswith(("&1", "&2"))
        elif not re.match(r"^[0-9]*(>>?|<)", word):
            kept.append(word)
    return kept


def commands(block):
    """Simple commands of a shell block: $(...) contents first, then the line split on operators."""
    for line in block.splitlines():
        substitutions = re.findall(r"\$\(([^()]*)\)", line)
        line = re.sub(r"\$\(([^()]*)\)", "SUBSTITUTED", line)
        for part in substitutions + re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                words = part.split()
            while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in ("export", "sudo")):
                words = words[1:]
            words = without_redirections(words)
            if words:
                yield words


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)


def flags_of(args):
    return [a for a in args if a.startswith("-")]


def check_helmfile(words):
    problems, env, rest, i = [], None, [], 1
    while i < len(words):
        word = words[i]
        if word in ("-e", "--environment"):
            env = words[i + 1]
            i += 2
            continue
        rest.append(word)
        i += 1
    subcommand = next((w for w in rest if not w.startswith("-")), None)
    if subcommand is None:
        return ["no subcommand"]
    if env is not None:
        listing = run(["helmfile", "--file", OFFLINE_HELMFILE, "-e", env, "list"])
        if listing.returncode != 0:
            problems.append(f"environment {env!r}: {listing.stderr.strip()[:300]}")
    # --help last: cobra parses every flag (and its value) first, then prints help instead of running.
    parsed = run(["helmfile", *rest, "--help"])
    if parsed.returncode != 0:
        problems.append(f"`helmfile {' '.join(rest)}` does not parse: {parsed.stderr.strip()[:300]}")
    if subcommand in RUN_OFFLINE and env is not None and f"-e \"$env\"" not in (ROOT / "tests/suites/60-helmfile.sh").read_text():
        problems.append("tests/suites/60-helmfile.sh does not run this per environment")
    return problems


def declared(directory, block_type, name):
    pattern = re.compile(rf'^{block_type} "{re.escape(name)}"', re.M)
    return any(pattern.search(f.read_text()) for f in (ROOT / directory).glob("*.tf"))


def check_tofu(words):
    problems, chdir, args = [], None, []
    for word in words[1:]:
        if word.startswith("-chdir="):
            chdir = word.split("=", 1)[1]
        else:
            args.append(word)
    if not args:
        return ["no subcommand"]
    subcommand, rest = args[0], args[1:]
    if chdir is None:
        return ["no -chdir=<env root>: the runbooks run from the repository root"]
    if not (ROOT / chdir / "versions.tf").is_file():
        problems.append(f"{chdir} is not an OpenTofu root of this repository")
    if f"{chdir} " not in INFRA_SUITE and f"{chdir})" not in INFRA_SUITE:
        problems.append(f"tests/suites/50-infra.sh does not init/validate/test {chdir}")
    helptext = run(["tofu", subcommand, "-help"])
    if helptext.returncode != 0:
        return problems + [f"`tofu {subcommand}` is not a tofu subcommand"]
    for flag in flags_of(rest):
        name = flag.split("=", 1)[0]
        if name not in helptext.stdout + helptext.stderr:
            problems.append(f"`tofu {subcommand}` has no flag {name}")
    values = iter(rest)
    for word in values:
        if word == "-var":
            variable = next(values, "").split("=", 1)[0]
            if not declared(chdir, "variable", variable):
                problems.append(f"{chdir} declares no variable {variable!r}")
        elif word.startswith("-var="):
            variable = word[len("-var="):].split("=", 1)[0]
            if not declared(chdir, "variable", variable):
                problems.append(f"{chdir} declares no variable {variable!r}")
    if subcommand == "output":
        names = [w for w in rest if not w.startswith("-")]
        for name in names:
            if not declared(chdir, "output", name):
                problems.append(f"{chdir} declares no output {name!r}")
    return problems


def check_helm(words):
    args = words[1:]
    parsed = run(["helm", *args, "--help"])
    if parsed.returncode != 0:
        return [f"does not parse: {parsed.stderr.strip()[:300]}"]
    return []


CHECKERS = {"helmfile": check_helmfile, "tofu": check_tofu, "helm": check_helm}
for doc in DOCS:
    seen = {name: 0 for name in CHECKERS}
    for block in shell_blocks(doc.read_text()):
        for words in commands(block):
            checker = CHECKERS.get(words[0])
            if checker:
                seen[words[0]] += 1
                report(doc, " ".join(words), checker(words))
    if not any(seen.values()):
        report(doc, "(no helmfile, tofu or helm command found)", ["a runbook without a checkable command"])

print(f"runbook commands: {results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
