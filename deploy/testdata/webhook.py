#!/usr/bin/env python3
"""A webhook receiver on 127.0.0.1 for scripts/deploy-test.sh: appends each POST body, one JSON line per
request ({"path": ..., "body": ...}), to OUT, and answers 204; on /api/v2/alerts it answers 200 with an
empty body, as Alertmanager's API does (api/v2/openapi.yaml, postAlerts: 200 "Create alerts response").

Usage: webhook.py OUT PORTFILE   (listens on an ephemeral port and writes it to PORTFILE)
"""
import http.server
import json
import os
import sys

OUT, PORTFILE = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body.decode("utf-8", "replace")}) + "\n")
        if self.path == "/api/v2/alerts":
            self.send_response(200)
            self.send_header("Content-Length", "0")
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
