#!/usr/bin/env python3
"""Copy an audit log, keeping only the lines before CUTOFF: the log as it stood at that time (day 1 of
scripts/deploy-test.sh's two simulated days).

Usage: truncate-logs.py SRC DST CUTOFF   (CUTOFF in RFC 3339 UTC, e.g. 2026-09-23T12:00:00Z; compared to
the second). SRC and DST ending in .gz are gzip. A line's time is its JSON "time" field (after the optional
"[vault-bo] " syslog-style prefix of the practice scenario's second cluster); a line that is not valid
JSON (a truncated entry, a NUL block) takes the time of a "time" field in its text, or else the time of
the line before it, so the damaged lines stay where they were in the file.
"""
import gzip
import json
import re
import sys

PREFIX = b"[vault-bo] "
TIME = re.compile(rb'"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)')


def opener(path):
    return gzip.open if path.endswith(".gz") else open


def main():
    src, dst, cutoff = sys.argv[1], sys.argv[2], sys.argv[3][:19]
    kept = 0
    last = ""
    with opener(src)(src, "rb") as f, opener(dst)(dst, "wb") as out:
        for line in f:
            body = line[len(PREFIX):] if line.startswith(PREFIX) else line
            try:
                entry = json.loads(body)
                t = entry.get("time") if isinstance(entry, dict) else None
                if isinstance(t, str):
                    last = t[:19]
            except ValueError:
                m = TIME.search(body)
                if m:
                    last = m.group(1).decode()
            if last < cutoff:
                out.write(line)
                kept += 1
    print(f"{dst}: {kept} lines before {cutoff}Z")


main()
