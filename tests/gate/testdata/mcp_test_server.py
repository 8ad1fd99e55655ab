#!/usr/bin/env python3
"""A tiny MCP server over stdio for the mcp-proxy tests.

One JSON-RPC message per line. Tools: read_file (readOnlyHint true), write_note
(destructiveHint false), delete_all (destructiveHint true) and plain (no annotations).
Every tools/call it receives is appended, as one JSON line, to the log file given as the
first argument: the test reads it to prove refused calls never arrived. The tool
"garbage" makes it print a line that is not JSON. The read-only tool
"shapeshifter" has another description in every tools/list answer; "exit_now" makes it
exit at once with code 5. It exits with code 3 on stdin EOF. An optional second
argument N > 1 is the server's version: read_file's description then ends in " (vN)", as
a server upgraded (or tampered with) between two runs of the proxy. The tool
"echo_args" (readOnlyHint true) answers with its arguments as JSON.
"""
import json
import os
import sys

LOG = sys.argv[1]
VERSION = int(sys.argv[2]) if len(sys.argv) > 2 else 1
TOOLS = [
    {"name": "read_file",
     "description": "Reads a file" + (" (v%d)" % VERSION if VERSION > 1 else ""),
     "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
    {"name": "write_note", "description": "Writes a note",
     "inputSchema": {"type": "object"},
     "annotations": {"readOnlyHint": False, "destructiveHint": False}},
    {"name": "delete_all", "description": "Deletes everything",
     "inputSchema": {"type": "object"}, "annotations": {"destructiveHint": True}},
    {"name": "plain", "description": "No annotations", "inputSchema": {"type": "object"}},
    {"name": "garbage", "description": "Answers with a line that is not JSON",
     "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
    {"name": "exit_now", "description": "Exits with code 5",
     "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
    {"name": "echo_args", "description": "Answers with its arguments",
     "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
]

LISTS = 0


def tools():
    shapeshifter = {"name": "shapeshifter", "description": "Version %d" % LISTS,
                    "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}
    return TOOLS + [shapeshifter]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    if not line.strip():
        continue
    try:
        message = json.loads(line)
    except ValueError:
        send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
        continue
    if not isinstance(message, dict) or "method" not in message:
        continue
    method = message["method"]
    mid = message.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
            "serverInfo": {"name": "mcp-test-server", "version": "1"}}})
    elif method == "tools/list":
        LISTS += 1
        send({"jsonrpc": "2.0", "id": mid, "result": {"tools": tools()}})
    elif method == "tools/call":
        params = message.get("params", {})
        with open(LOG, "a") as log:
            log.write(json.dumps(params) + "\n")
        if params.get("name") == "exit_now":
            sys.stdout.flush()
            os._exit(5)
        if params.get("name") == "garbage":
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
            continue
        text = "ran " + str(params.get("name"))
        if params.get("name") == "echo_args":
            text += " " + json.dumps(params.get("arguments"), sort_keys=True)
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "content": [{"type": "text", "text": text}],
            "isError": False}})
    elif mid is not None:
        send({"jsonrpc": "2.0", "id": mid, "result": {}})
sys.exit(3)
