"""A test model server on 127.0.0.1: it speaks the OpenAI chat-completions protocol
(``POST /v1/chat/completions`` with ``usage`` tokens) and answers with canned text, so the
workspace's AI assistant can be tested without any real model and without the network.

``mode`` picks how it answers: ``"ok"`` (an answer naming the question, and the tokens of
``usage``), ``"hang"`` (never answers until the test ends) or ``"error"`` (HTTP 500 with an
error document). Every request it received is kept (headers and JSON body).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER_PREFIX = "TEST SERVER ANSWER to: "


@dataclass
class ModelServer:
    url: str
    mode: str = "ok"
    prompt_tokens: int = 20
    completion_tokens: int = 10
    requests: list[dict[str, Any]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


def start(server_state: ModelServer | None = None) -> tuple[ModelServer, ThreadingHTTPServer]:
    """Start the server in a daemon thread; stop it with ``stop``."""
    state = server_state or ModelServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append({"path": self.path, "headers": dict(self.headers),
                                   "body": body})
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": "unknown path"}})
            elif state.mode == "hang":
                state.released.wait(30)
            elif state.mode == "error":
                self._send(500, {"error": {"message": "the test server is failing on purpose"}})
            else:
                question = body["messages"][-1]["content"]
                self._send(200, {
                    "id": "test", "object": "chat.completion", "model": body.get("model", ""),
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": ANSWER_PREFIX + question}}],
                    "usage": {"prompt_tokens": state.prompt_tokens,
                              "completion_tokens": state.completion_tokens,
                              "total_tokens": state.prompt_tokens + state.completion_tokens}})

        def _send(self, status: int, document: dict[str, Any]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}/v1"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return state, server


def stop(state: ModelServer, server: ThreadingHTTPServer) -> None:
    state.released.set()  # a hanging request ends
    server.shutdown()
    server.server_close()
