#!/usr/bin/env python3
"""Summarises checkov's JSON results: fails on any failed check, on a skip without a reason
(a suppress comment of 20 characters or more) and when nothing passed.

usage: checkov_report.py RESULTS_JSON
"""
import json, sys
reports = json.load(open(sys.argv[1]))
reports = reports if isinstance(reports, list) else [reports]
passed = sum(r["summary"]["passed"] for r in reports)
failed = [c for r in reports for c in r["results"]["failed_checks"]]
skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
for check in failed:
    print(f"FAILED {check['check_id']} {check['resource']} {check['file_path']}")
unjustified = [c for c in skipped if len((c.get("check_result") or {}).get("suppress_comment", "").strip()) < 20]
for check in unjustified:
    print(f"SKIPPED WITHOUT A REASON {check['check_id']} {check['resource']}")
print(f"checkov: {passed} passed, {len(failed)} failed, {len(skipped)} skipped with a reason")
sys.exit(1 if failed or unjustified or passed == 0 else 0)
