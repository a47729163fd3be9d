"""Stand-ins for what a test machine cannot reach: the instance metadata
service, and a server that can be switched off and on again."""

import http.client
import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeImds:
    """IMDSv2 for one instance: a PUT for a token, GETs that need it.

    Set `instance_action` or `rebalance` to a dict to make AWS's signals
    appear; `token_requests` counts the PUTs.
    """

    def __init__(self, *, instance_id: str, instance_type: str = "m5.large",
                 az: str = "us-east-1a", ami_id: str = "ami-12345678"):
        self.document = {
            "instanceId": instance_id, "instanceType": instance_type,
            "region": az[:-1], "availabilityZone": az, "imageId": ami_id,
            "privateIp": "10.0.0.10",
        }
        self.instance_action: dict | None = None
        self.rebalance: dict | None = None
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.refused_gets = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str):
        paths = {
            "/latest/dynamic/instance-identity/document": self.document,
            "/latest/meta-data/local-hostname": "ip-10-0-0-10.ec2.internal",
            "/latest/meta-data/spot/instance-action": self.instance_action,
            "/latest/meta-data/events/recommendations/rebalance": self.rebalance,
        }
        return paths.get(path)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                if self.path != "/latest/api/token" or not self.headers.get(
                    "X-aws-ec2-metadata-token-ttl-seconds"
                ):
                    return self._send(400, "")
                token = uuid.uuid4().hex
                fake.tokens.add(token)
                fake.token_requests += 1
                self._send(200, token)

            def do_GET(self):
                if self.headers.get("X-aws-ec2-metadata-token") not in fake.tokens:
                    fake.refused_gets += 1
                    return self._send(401, "")
                body = fake._answer(self.path)
                if body is None:
                    return self._send(404, "Not Found")
                self._send(200, body if isinstance(body, str) else json.dumps(body))

            def _send(self, status: int, body: str):
                raw = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler


class SwitchableProxy:
    """An HTTP front for a server that can stop answering and come back.

    While stopped nothing listens on its port, which is what an agent sees
    when the server restarts: connections refused.
    """

    def __init__(self, target: str):
        self.target = urlsplit(target)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests = 0
        self.paths: list[str] = []
        self._server = None

    def start(self) -> None:
        handler = self._handler()
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.requests += 1
                proxy.paths.append(f"{self.command} {self.path}")
                upstream = http.client.HTTPConnection(
                    proxy.target.hostname, proxy.target.port, timeout=30
                )
                headers = {
                    key: value for key, value in self.headers.items()
                    if key.lower() not in ("host", "connection")
                }
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                raw = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection",
                                           "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        return Handler
