"""A small OpenAI-compatible chat-completions server for tests, on 127.0.0.1.

The requested model name picks the behaviour: "cite" streams an answer citing [1] and a
made-up [9]; "nocite" answers without markers; "broken" returns HTTP 500; "slow" stalls;
"hold" makes the first request wait until the test sets `Handler.release` (later ones go
straight on), then answers like "cite".
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLIES = {
    "cite": ["货物将运往", "俄罗斯谢利亚季诺[1]", "，全程约2600公里[9]。"],
    "nocite": ["货物将运往俄罗斯。"],
    "notfound": ["资料中没有找到相关内容。"],
}


class Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []
    release = threading.Event()
    holding = threading.Event()  # set while a "hold" request waits

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        model = body["model"]
        if model == "broken":
            self.send_error(500)
            return
        if model == "slow":
            time.sleep(3)
        if model == "hold":
            if not Handler.holding.is_set():
                Handler.holding.set()
                Handler.release.wait(120)
            model = "cite"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in REPLIES.get(model, ["好"]):
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


def start() -> tuple[ThreadingHTTPServer, str]:
    """Start the server on a free port; returns it and its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
