#!/usr/bin/env python3
"""Times a server's start to ready, for scripts/local-stack/stack.sh: prints "polling", then polls
URL every millisecond (refused until the server listens) until it answers 200, and prints the
wall-clock time of that answer in microseconds since the epoch (bash's EPOCHREALTIME without its
point). The caller starts the server after reading "polling", so the poller's own start-up is not
in the figure. Exits 1 without printing a time if TIMEOUT seconds pass first.

usage: ready_poller.py URL TIMEOUT_SECONDS
"""
import http.client
import sys
import time
import urllib.parse


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    deadline = time.monotonic() + float(sys.argv[2])
    print("polling", flush=True)
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=1)
        try:
            connection.request("GET", url.path)
            if connection.getresponse().status == 200:
                print(time.time_ns() // 1000, flush=True)
                return 0
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.001)
    return 1


if __name__ == "__main__":
    sys.exit(main())
