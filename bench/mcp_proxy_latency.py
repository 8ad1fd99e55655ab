#!/usr/bin/env python3
"""Latency the MCP proxy adds to an allowed tools/call, end to end on loopback.

Starts a nats-server (JetStream, temporary store) and a gate with a policy that allows
MCP reads, then sends N sequential tools/call of a read-only tool to the test MCP
server (tests/gate/testdata/mcp_test_server.py) twice: directly, and through
`jobgate mcp-proxy`. Prints p50 and p99 of each and the differences; with --json FILE
also writes them there (bench/run's `mcp` section reads it).
Usage: bench/mcp_proxy_latency.py [BUILD_DIR] [N] [--json FILE]
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = sys.argv[1:]
JSON_OUT = None
if "--json" in ARGS:
    at = ARGS.index("--json")
    JSON_OUT = ARGS[at + 1]
    del ARGS[at:at + 2]
BUILD = ARGS[0] if len(ARGS) > 0 else os.path.join(ROOT, "build")
N = int(ARGS[1]) if len(ARGS) > 1 else 500
SERVER = os.path.join(ROOT, "tests/gate/testdata/mcp_test_server.py")
POLICY = """version: v1
snapshot: mcp-bench
defaults: {decision: deny, reason: "no rule"}
rules:
  - id: allow-mcp-reads
    match: {topics: ["job.mcp-bridge.read.*"], risk_tags_none: [write, destructive]}
    decision: allow
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session(argv):
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, bufsize=0)

    def ask(message):
        proc.stdin.write((json.dumps(message) + "\n").encode())
        while True:
            answer = json.loads(proc.stdout.readline())
            if answer.get("id") == message["id"]:
                return answer

    ask({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {}})
    ask({"jsonrpc": "2.0", "id": "list", "method": "tools/list"})
    times = []
    for i in range(N + 20):
        start = time.perf_counter()
        answer = ask({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                      "params": {"name": "read_file", "arguments": {"path": "/x"}}})
        elapsed = time.perf_counter() - start
        assert not answer["result"].get("isError"), answer
        if i >= 20:  # warm-up
            times.append(elapsed * 1000)
    proc.stdin.close()
    proc.wait()
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)]


def main():
    tmp = tempfile.mkdtemp()
    port = free_port()
    with open(os.path.join(tmp, "nats.conf"), "w") as conf:
        conf.write('listen: 127.0.0.1:%d\njetstream { store_dir: "%s/store" }\n' % (port, tmp))
    with open(os.path.join(tmp, "policy.yaml"), "w") as policy:
        policy.write(POLICY)
    nats = subprocess.Popen(["nats-server", "-c", os.path.join(tmp, "nats.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "nats://127.0.0.1:%d" % port
    http = free_port()
    for _ in range(300):  # until nats-server accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    gate = subprocess.Popen([os.path.join(BUILD, "jobgate"), "run", "--nats", url, "--http",
                             "127.0.0.1:%d" % http, "--metrics", "127.0.0.1:%d" % free_port(),
                             "--policy", os.path.join(tmp, "policy.yaml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/readyz" % http, timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        log = os.path.join(tmp, "calls.jsonl")
        direct = session(["python3", SERVER, log])
        proxied = session([os.path.join(BUILD, "jobgate"), "mcp-proxy", "--nats", url,
                           "--", "python3", SERVER, log])
        print("calls: %d sequential, after 20 warm-up" % N)
        print("direct:  p50 %.2f ms  p99 %.2f ms" % direct)
        print("proxied: p50 %.2f ms  p99 %.2f ms" % proxied)
        print("added:   p50 %.2f ms  p99 %.2f ms" % (proxied[0] - direct[0],
                                                  proxied[1] - direct[1]))
        if JSON_OUT:
            with open(JSON_OUT, "w") as out:
                json.dump({"calls": N,
                           "direct": {"p50_ms": direct[0], "p99_ms": direct[1]},
                           "proxied": {"p50_ms": proxied[0], "p99_ms": proxied[1]},
                           "added_p50_ms": proxied[0] - direct[0],
                           "added_p99_ms": proxied[1] - direct[1]}, out)
    finally:
        gate.terminate()
        gate.wait()
        nats.terminate()
        nats.wait()


main()
