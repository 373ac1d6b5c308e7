#!/usr/bin/env python3
"""Writes testdata/vault/incident.jsonl: a small, synthetic Vault audit log for the report and
trace tests. Six hours of routine reads, then a stolen token harvesting secrets from outside,
an operator's write, and an identity whose names and paths carry markup, terminal escapes and
workflow-command injections (to prove every output format escapes them).
Run from the repository root: python3 testdata/gen/incident.py"""
import json
from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 9, 23, 8, 0, 0, tzinfo=timezone.utc)
out = []
n = 0


def entry(t, kind, ident, op, path, addr, mount, mtype, error=None):
    global n
    rid = f"req-{n:05d}"
    auth = {"accessor": ident["acc"], "display_name": ident["name"], "entity_id": ident["entity"],
            "policies": ident["policies"], "token_type": "service"}
    req = {"id": rid, "operation": op, "path": path, "mount_point": mount, "mount_type": mtype,
           "remote_address": addr, "namespace": {"id": "root"}}
    ts = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    out.append((t, json.dumps({"time": ts, "type": "request", "auth": auth, "request": req}, separators=(",", ":"))))
    resp = {"time": (t + timedelta(milliseconds=3)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z", "type": "response",
            "auth": auth, "request": req, "response": {"mount_point": mount, "mount_type": mtype}}
    if error:
        resp["error"] = error
    out.append((t + timedelta(milliseconds=3), json.dumps(resp, separators=(",", ":"))))
    n += 1


pay = {"name": "k8s-payments-api", "entity": "e-payments", "acc": "hmac-sha256:acc-payments", "policies": ["payments"]}
fraud = {"name": "k8s-fraud-model", "entity": "e-fraud", "acc": "hmac-sha256:acc-fraud", "policies": ["fraud"]}
liam = {"name": "oidc-liam.byrne", "entity": "e-liam", "acc": "hmac-sha256:acc-liam", "policies": ["default", "vault-operators"]}
evil = {"name": "evil<script>alert(1)</script>|*_`[x](http://e.test)\n::warning::owned\x1b[31m",
        "entity": "e-evil", "acc": "hmac-sha256:acc-evil", "policies": ["default"]}
DENIED = "1 error occurred:\n\t* permission denied\n\n"

for i in range(36):  # every 10 minutes for 6 hours
    t = T0 + timedelta(minutes=10 * i)
    entry(t, "r", pay, "read", "kv/data/prod/payments/db", "10.1.2.3", "kv/", "kv")
    entry(t + timedelta(seconds=2), "r", pay, "read", "kv/data/prod/payments/stripe", "10.1.2.3", "kv/", "kv")
for i in range(24):  # every 15 minutes from the pod
    entry(T0 + timedelta(minutes=15 * i, seconds=30), "r", fraud, "read", "kv/data/prod/fraud/model", "100.73.2.14", "kv/", "kv")

# The operator rotates a secret and looks at mounts.
entry(T0 + timedelta(hours=3), "w", liam, "update", "kv/data/prod/payments/stripe", "10.8.0.12", "kv/", "kv")
entry(T0 + timedelta(hours=3, seconds=20), "r", liam, "read", "sys/mounts", "10.8.0.12", "sys/", "system")

# 12:30: the fraud model's token harvests from the internet.
h = T0 + timedelta(hours=4, minutes=30)
k = 0
for rep in range(2):
    for j in range(20):
        entry(h + timedelta(seconds=3 * k), "r", fraud, "read", f"kv/data/prod/team{j % 10}/secret{j}", "203.0.113.77", "kv/", "kv")
        k += 1
entry(h + timedelta(seconds=3 * k), "r", fraud, "read", "kv/metadata/prod/payments/db", "203.0.113.77", "kv/", "kv")
entry(h + timedelta(seconds=3 * k + 1), "r", fraud, "read", "database/creds/ledger-ro", "203.0.113.77", "database/", "database")
entry(h + timedelta(seconds=3 * k + 2), "r", fraud, "read", "kv/data/prod/treasury/swift", "203.0.113.77", "kv/", "kv", DENIED)
entry(h + timedelta(seconds=3 * k + 3), "r", fraud, "list", "kv/metadata/prod/", "203.0.113.77", "kv/", "kv")

# 13:00: a hostile identity with markup in its names and paths.
e = T0 + timedelta(hours=5)
for j in range(36):
    entry(e + timedelta(seconds=2 * j), "r", evil, "read",
          f"kv/data/x<img src=x onerror=alert(2)>|`*_[]/s{j % 12}\r\n::error::pwned", "198.51.100.20", "kv/", "kv")

out.sort(key=lambda x: x[0])
with open("testdata/vault/incident.jsonl", "w") as f:
    for _, line in out:
        f.write(line + "\n")
print(len(out), "lines")
