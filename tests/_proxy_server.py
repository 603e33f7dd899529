"""A tiny HTTP forward proxy on 127.0.0.1 standing in for Apify Proxy in tests."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class LocalProxy:
    """A tiny HTTP forward proxy on 127.0.0.1 that answers every request itself.

    As Apify Proxy does for its status page, it answers a request for the status host with the
    status JSON; any other URL gets ``proxied <url>``. It records each request's URL and the
    user name and password of its ``Proxy-Authorization``.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.status: dict[str, Any] = {
            'connected': True,
            'connectionError': None,
            'isManInTheMiddle': True,
        }
        self.reply_code = 200
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                auth = self.headers.get('Proxy-Authorization', '')
                user, password = '', ''
                if auth.startswith('Basic '):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(':')
                proxy.requests.append((self.path, user, password))
                if proxy.reply_code != 200:
                    body = b'Proxy Authentication Required'
                    self.send_response(proxy.reply_code)
                elif urlsplit(self.path).hostname == 'proxy.apify.com':
                    body = json.dumps(proxy.status).encode()
                    self.send_response(200)
                else:
                    body = f'proxied {self.path}'.encode()
                    self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={'poll_interval': 0.05},
            name='test-local-proxy',
            daemon=True,
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
