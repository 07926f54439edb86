"""A small HTTP proxy that adds a fixed delay to every request before
forwarding it to one upstream (moto or OpenBao), and counts the requests it
forwarded, so every library meets the same slow backend and its calls are
counted on the wire.

    python bench/compare/delay_proxy.py --target http://127.0.0.1:PORT \
        --delay-ms 20 --port-file /tmp/proxy.port

GET /__proxy__/count answers {"requests": N} (not forwarded, not delayed).
Standard library only, so it runs in any venv.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers are per connection: never forwarded (RFC 9110, 7.6.1).
HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect
    target: tuple[str, int]
    delay: float
    count = 0
    lock = threading.Lock()

    def log_message(self, *_: object) -> None:
        pass

    def _handle(self) -> None:
        if self.path == "/__proxy__/count":
            with Proxy.lock:
                self._reply(
                    200,
                    [("Content-Type", "application/json")],
                    json.dumps({"requests": Proxy.count}).encode(),
                )
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        with Proxy.lock:
            Proxy.count += 1
        time.sleep(self.delay)
        # One upstream connection per client connection (this thread).
        upstream = getattr(self, "_upstream", None) or http.client.HTTPConnection(*self.target, timeout=60)
        self._upstream = upstream
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            upstream.close()
            self._upstream = None
            self._reply(502, [], b"upstream failed")
            return
        kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP | {"content-length"}]
        self._reply(answer.status, kept, data)

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_LIST = _handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="upstream base URL, http only")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--port-file", required=True, help="written with the port once listening")
    args = parser.parse_args()
    url = urlsplit(args.target)
    Proxy.target = (url.hostname or "127.0.0.1", url.port or 80)
    Proxy.delay = args.delay_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    tmp = f"{args.port_file}.tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)  # readers never see a partial file
    server.serve_forever()


if __name__ == "__main__":
    main()
