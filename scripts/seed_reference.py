#!/usr/bin/env python3
"""The seed's detectors, reimplemented faithfully in Python: the baseline of scripts/bench.sh.

This is what a responder would otherwise run (issue 7): every line goes through json.loads, the
reads of each token accessor are kept in a list, and the two rules the seed had are checked the
way its dashboard did it:

  bulk-read       for every read or list, count the reads of the same accessor in the next
                  5 minutes, and their distinct paths, by scanning the accessor's whole list;
                  30 reads over 10 distinct paths is a finding.
  dual-source-ip  for every request, look through the accessor's whole list for a request from
                  the other side (internal: RFC 1918, 100.64.0.0/10, loopback, link-local,
                  fc00::/7) within 60 minutes.

Both scans are quadratic in the requests of one accessor, as in the seed. The findings (one per
accessor and rule) go to standard output as JSON lines; a summary goes to standard error.

usage: seed_reference.py FILE...
"""

import ipaddress
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone

WINDOW_BULK = 300.0
MIN_READS = 30
MIN_DISTINCT = 10
WINDOW_DUAL = 3600.0
INTERNAL = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "::1/128", "fe80::/10", "fc00::/7")]


def parse_time(s):
    """RFC 3339 in UTC with 0-9 fraction digits, as Vault writes it."""
    base, _, frac = s.rstrip("Z").partition(".")
    t = datetime.fromisoformat(base).replace(tzinfo=timezone.utc).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def is_internal(addr):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return None
    return any(ip in n for n in INTERNAL)


def main(paths):
    reads = defaultdict(list)   # accessor -> [(time, path)]
    uses = defaultdict(list)    # accessor -> [(time, internal)]
    lines = malformed = 0
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                lines += 1
                try:
                    e = json.loads(line)
                except ValueError:
                    malformed += 1
                    continue
                if not isinstance(e, dict) or e.get("type") != "request":
                    continue
                req = e.get("request") or {}
                auth = e.get("auth") or {}
                acc = auth.get("accessor") or req.get("client_token_accessor")
                if not acc:
                    continue
                try:
                    t = parse_time(e.get("time", ""))
                except ValueError:
                    malformed += 1
                    continue
                if req.get("operation") in ("read", "list"):
                    reads[acc].append((t, req.get("path")))
                side = is_internal(req.get("remote_address", ""))
                if side is not None:
                    uses[acc].append((t, side))

    findings = 0
    for acc, lst in reads.items():
        first = None
        for t, _ in lst:
            n, distinct = 0, set()
            for u, p in lst:  # the whole list, for every read
                if t <= u < t + WINDOW_BULK:
                    n += 1
                    distinct.add(p)
            if n >= MIN_READS and len(distinct) >= MIN_DISTINCT and first is None:
                first = {"rule": "bulk-read", "accessor": acc, "start": t, "reads": n, "distinct": len(distinct)}
        if first:
            print(json.dumps(first))
            findings += 1
    for acc, lst in uses.items():
        first = None
        for t, side in lst:
            for u, other in lst:  # the whole list, for every request
                if other != side and abs(u - t) <= WINDOW_DUAL and first is None:
                    first = {"rule": "dual-source-ip", "accessor": acc, "time": t}
        if first:
            print(json.dumps(first))
            findings += 1
    print(f"seed_reference: {lines} lines, {malformed} malformed, {len(reads)} accessors with reads, {findings} findings",
          file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
