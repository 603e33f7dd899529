"""A thread-pool crawler: worker threads share one request queue, with no network needed.

It serves a small website of its own on 127.0.0.1 (``http.server`` in a thread), then
crawls it from the start page: the main thread fetches requests from the queue and hands them
to a ``ThreadPoolExecutor``; each worker downloads a page, enqueues its links and pushes the
page's title to the dataset. The queue deduplicates the links; the crawl ends when the queue
is finished (nothing pending, nothing in progress).

Input (optional): ``{"pages": 30, "workers": 4}``.
"""

import concurrent.futures
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from actorkit import actor

LINK = re.compile(r'href="([^"]+)"')
TITLE = re.compile(r'<title>(.*?)</title>')


class Site(BaseHTTPRequestHandler):
    """``/page/N`` links to pages ``2N+1`` and ``2N+2`` that exist (a tree), and to ``/page/0``."""

    pages = 30

    def do_GET(self):
        match = re.fullmatch(r'/page/(\d+)', self.path)
        if match is None or int(match[1]) >= self.pages:
            self.send_error(404)
            return
        number = int(match[1])
        children = [child for child in (2 * number + 1, 2 * number + 2) if child < self.pages]
        links = [f'/page/{child}' for child in children]
        body = (
            f'<html><head><title>Page {number}</title></head><body>'
            + ''.join(f'<a href="{link}">{link}</a>' for link in [*links, '/page/0'])
            + '</body></html>'
        ).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # keep the Actor's log readable


def handle(queue, request):
    """Download one page, enqueue its links, push its title; runs on a worker thread."""
    try:
        # Only http URLs reach the queue: the start page's and the links found on it.
        with urllib.request.urlopen(request.url, timeout=10) as response:  # noqa: S310
            html = response.read().decode()
        links = [urllib.parse.urljoin(request.url, href) for href in LINK.findall(html)]
        queue.add_requests(links)
        actor.push_data(
            {
                'url': request.url,
                'title': TITLE.search(html)[1],
                'thread': threading.current_thread().name,
            }
        )
        queue.mark_request_as_handled(request)
    except urllib.error.HTTPError as error:
        actor.log.info('skipping %s: HTTP %s', request.url, error.code)
        queue.mark_request_as_handled(request)  # a missing page is done, not retried


def crawl(start_url, workers):
    queue = actor.open_request_queue()
    queue.add_request(start_url)
    running = set()
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix='worker') as pool:
        while not queue.is_finished():
            request = queue.fetch_next_request() if len(running) < workers else None
            if request is not None:
                running.add(pool.submit(handle, queue, request))
                continue
            if not running:
                break  # pending requests are held by another process: leave them to it
            # Wait for a worker to finish: it may enqueue new links.
            finished, running = concurrent.futures.wait(
                running, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                future.result()  # a failed page fails the crawl, with its traceback
    return queue.get_handled_count()


def main():
    with actor:
        config = actor.get_input() or {}
        Site.pages = config.get('pages', 30)
        server = ThreadingHTTPServer(('127.0.0.1', 0), partial(Site))
        thread = threading.Thread(target=server.serve_forever, name='site', daemon=True)
        thread.start()
        try:
            start = f'http://127.0.0.1:{server.server_address[1]}/page/0'
            handled = crawl(start, config.get('workers', 4))
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
        actor.set_value('OUTPUT', {'handled': handled})
        print(f'crawled {handled} pages', flush=True)


if __name__ == '__main__':
    main()
