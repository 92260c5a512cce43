#!/usr/bin/env python3
"""Prints N loopback TCP ports that were free a moment ago, space-separated (all bound at
once, so they differ).

usage: free_ports.py N
"""
import socket
import sys


def main() -> None:
    sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    print(" ".join(str(s.getsockname()[1]) for s in sockets))


if __name__ == "__main__":
    main()
