#!/usr/bin/env python3
"""A stand-in for an agent's model API, for end-to-end tests that must not
leave the machine: an HTTPS server that speaks just enough of the Anthropic
Messages API, the OpenAI Responses API or the Gemini API to drive one agent
through one scripted turn:

  1. the agent's first request that offers a file-writing (or shell) tool is
     answered with a call of that tool, writing FILE in the agent's working
     folder with CONTENT;
  2. the request that carries that tool's result is answered with a final
     message, DONE_TEXT;
  every other request (titles, token counts, quota checks) gets a short
  plain answer, so the agent carries on.

Every request is logged as one JSON line (--log): host, method, path, model,
the tools offered, the tool result seen, what was answered. No key is
checked and none is logged: which auth header came is logged, not its value.

  standin.py --api anthropic|openai|gemini --cert C --key K --log FILE \
      --dir DIR [--listen 127.0.0.1:443] [--file airlock-e2e.txt] [--dump DIR]
      [--hold FILE]

It prints "ready PORT" on stdout once listening (--listen HOST:0 picks a
port) and serves until killed."""

import argparse
import http.server
import json
import os
import re
import socketserver
import ssl
import sys
import threading
import time

CONTENT_DEFAULT = "written by the agent through airlock\n"
DONE_TEXT = "airlock-e2e: done"
CALL_ID = "airlock_e2e_call_1"


class Script:
    """What the stand-in answers; shared by the handler threads."""

    def __init__(self, args):
        self.api = args.api
        self.dir = args.dir.rstrip("/") or "/"
        self.file = args.file
        self.content = args.content
        self.log_path = args.log
        self.dump = args.dump
        self.hold = args.hold
        self.lock = threading.Lock()
        self.n = 0

    def path(self):
        return f"{self.dir}/{self.file}"

    def log(self, entry):
        with self.lock:
            self.n += 1
            entry = {"n": self.n, "time": round(time.time(), 3), **entry}
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")


def excerpt(v, n=300):
    if not isinstance(v, str):
        v = json.dumps(v)
    return v if len(v) <= n else v[:n] + "..."


# --- choosing the tool call ---------------------------------------------------

PATH_KEYS = ("file_path", "filePath", "absolute_path", "path")
WRITE_NAMES = ("Write", "write", "write_file", "create_file")
SHELL_NAMES = ("Bash", "bash", "shell", "exec_command", "run_shell_command",
               "local_shell", "shell_command")


def props_of(schema):
    if not isinstance(schema, dict):
        return {}
    p = schema.get("properties")
    return p if isinstance(p, dict) else {}


def plan_call(script, tools):
    """(tool name, arguments dict) for the first usable tool offered:
    a file-writing tool if there is one, else a shell tool; None if none.
    tools is a list of (name, input schema)."""
    by_name = dict(tools)
    for name in WRITE_NAMES:
        if name in by_name:
            props = props_of(by_name[name])
            key = next((k for k in PATH_KEYS if k in props), "file_path")
            return name, {key: script.path(), "content": script.content}
    for name in SHELL_NAMES:
        if name not in by_name:
            continue
        props = props_of(by_name[name])
        line = "printf '%s' " + shell_quote(script.content) + " > " + shell_quote(script.path())
        if "command" in props and props["command"].get("type") == "array":
            return name, {"command": ["bash", "-lc", line], "workdir": script.dir}
        if "cmd" in props:
            return name, {"cmd": line, "workdir": script.dir}
        return name, {"command": line, "description": "write " + script.file}
    return None


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# --- the three APIs -------------------------------------------------------------

def anthropic_tools(body):
    return [(t.get("name"), t.get("input_schema")) for t in body.get("tools") or []
            if isinstance(t, dict)]


def anthropic_result(body):
    for m in body.get("messages") or []:
        content = m.get("content") if isinstance(m, dict) else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result" \
                    and block.get("tool_use_id") == CALL_ID:
                return block.get("content", "")
    return None


def anthropic_answer(script, body, call):
    """The Messages API's answer: SSE events when body asks to stream."""
    model = body.get("model", "stand-in")
    usage = {"input_tokens": 10, "output_tokens": 5}
    if call:
        name, args = call
        block = {"type": "tool_use", "id": CALL_ID, "name": name, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(args)}
        full = {"type": "tool_use", "id": CALL_ID, "name": name, "input": args}
        stop = "tool_use"
    else:
        text = DONE_TEXT if anthropic_result(body) is not None else "ok"
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": text}
        full = {"type": "text", "text": text}
        stop = "end_turn"
    msg = {"id": "msg_airlock_" + str(script.n), "type": "message", "role": "assistant",
           "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
           "usage": usage}
    if not body.get("stream"):
        msg.update(content=[full], stop_reason=stop)
        return "application/json", json.dumps(msg)
    events = [
        ("message_start", {"type": "message_start", "message": msg}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": block}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "text/event-stream", "".join(
        f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events)


def openai_tools(body):
    """(name, schema, type, namespace, description) of every tool offered:
    the request's own and those an input item of type additional_tools adds
    (Codex's code mode), namespaces flattened."""
    out = []

    def add(tools, ns):
        for t in tools if isinstance(tools, list) else []:
            if not isinstance(t, dict):
                continue
            if t.get("type") == "namespace":
                add(t.get("tools"), t.get("name"))
                continue
            fn = t.get("function") if isinstance(t.get("function"), dict) else t
            out.append((fn.get("name") or t.get("type"), fn.get("parameters"), t.get("type"),
                        ns, fn.get("description") or ""))

    add(body.get("tools"), None)
    for it in body.get("input") if isinstance(body.get("input"), list) else []:
        if isinstance(it, dict) and it.get("type") == "additional_tools":
            add(it.get("tools"), None)
    return out


def openai_call_item(script, tools):
    """The output item that makes the agent write the file: Codex's code
    mode offers one freeform tool, exec, that runs JavaScript calling the
    nested tools (apply_patch among them); otherwise a function tool."""
    for name, _, kind, ns, desc in tools:
        if kind == "custom" and name == "exec" and "apply_patch" in desc:
            patch = ("*** Begin Patch\n*** Add File: " + script.file + "\n" +
                     "".join("+" + line + "\n" for line in script.content.splitlines()) +
                     "*** End Patch\n")
            code = "const r = await tools.apply_patch(" + json.dumps(patch) + ");\ntext(r);\n"
            item = {"type": "custom_tool_call", "id": "ctc_airlock_1", "call_id": CALL_ID,
                    "name": name, "input": code, "status": "completed"}
            if ns:
                item["namespace"] = ns
            return name, item
    call = plan_call(script, [(t[0], t[1]) for t in tools])
    if not call:
        return None
    return call[0], {"type": "function_call", "id": "fc_airlock_1", "call_id": CALL_ID,
                     "name": call[0], "arguments": json.dumps(call[1]), "status": "completed"}


def openai_result(body):
    items = body.get("input")
    for it in items if isinstance(items, list) else []:
        if isinstance(it, dict) and it.get("call_id") == CALL_ID and \
                it.get("type", "").endswith("_output"):
            return it.get("output", "")
    # Chat Completions style, for a provider configured that way.
    for m in body.get("messages") or []:
        if isinstance(m, dict) and m.get("role") == "tool" and m.get("tool_call_id") == CALL_ID:
            return m.get("content", "")
    return None


def openai_answer(script, body, call):
    """The Responses API's answer (SSE when streaming); call is
    openai_call_item's (name, item) or None."""
    rid = "resp_airlock_" + str(script.n)
    model = body.get("model", "stand-in")
    if call:
        item = call[1]
    else:
        text = DONE_TEXT if openai_result(body) is not None else "ok"
        item = {"type": "message", "id": "msg_airlock_" + str(script.n), "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 15}
    resp = {"id": rid, "object": "response", "created_at": int(time.time()),
            "status": "completed", "model": model, "output": [item], "usage": usage}
    if not body.get("stream"):
        return "application/json", json.dumps(resp)
    started = dict(resp, status="in_progress", output=[], usage=None)
    events = [
        ("response.created", {"type": "response.created", "response": started}),
        ("response.in_progress", {"type": "response.in_progress", "response": started}),
        ("response.output_item.added", {"type": "response.output_item.added",
                                        "output_index": 0, "item": dict(item, status="in_progress")}),
    ]
    if item["type"] == "message":
        text = item["content"][0]["text"]
        events.append(("response.output_text.delta", {
            "type": "response.output_text.delta", "item_id": item["id"], "output_index": 0,
            "content_index": 0, "delta": text}))
    elif item["type"] == "function_call":
        events.append(("response.function_call_arguments.done", {
            "type": "response.function_call_arguments.done", "item_id": item["id"],
            "output_index": 0, "arguments": item["arguments"]}))
    events += [
        ("response.output_item.done", {"type": "response.output_item.done",
                                       "output_index": 0, "item": item}),
        ("response.completed", {"type": "response.completed", "response": resp}),
    ]
    for i, (_, d) in enumerate(events):
        d["sequence_number"] = i
    return "text/event-stream", "".join(
        f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events)


def gemini_tools(body):
    out = []
    for t in body.get("tools") or []:
        for fd in (t.get("functionDeclarations") or []) if isinstance(t, dict) else []:
            if isinstance(fd, dict):
                out.append((fd.get("name"), fd.get("parametersJsonSchema") or fd.get("parameters")))
    return out


def gemini_result(body):
    for c in body.get("contents") or []:
        for p in (c.get("parts") or []) if isinstance(c, dict) else []:
            fr = p.get("functionResponse") if isinstance(p, dict) else None
            if isinstance(fr, dict) and (fr.get("id") == CALL_ID or fr.get("name") in WRITE_NAMES
                                         or fr.get("name") in SHELL_NAMES):
                return fr.get("response", "")
    return None


def schema_sample(schema):
    """A minimal value of a JSON schema's type (Gemini's or JSON Schema's
    spelling), every required property filled in."""
    if not isinstance(schema, dict):
        return None
    t = str(schema.get("type", "")).lower()
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if t == "object":
        props = props_of(schema)
        return {k: schema_sample(props.get(k)) for k in schema.get("required") or props}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if t == "boolean":
        return False
    return "ok"


def gemini_answer(script, body, call, stream):
    cfg = body.get("generationConfig") if isinstance(body.get("generationConfig"), dict) else {}
    schema = cfg.get("responseJsonSchema") or cfg.get("responseSchema")
    if call:
        name, args = call
        parts = [{"functionCall": {"name": name, "args": args, "id": CALL_ID}}]
    elif cfg.get("responseMimeType") == "application/json" and schema:
        # A side request that wants JSON (Gemini CLI's model router).
        parts = [{"text": json.dumps(schema_sample(schema))}]
    else:
        text = DONE_TEXT if gemini_result(body) is not None else "ok"
        parts = [{"text": text}]
    chunk = {"candidates": [{"content": {"role": "model", "parts": parts},
                             "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                               "totalTokenCount": 15},
             "modelVersion": body.get("model", "stand-in")}
    if stream:
        return "text/event-stream", "data: " + json.dumps(chunk) + "\r\n\r\n"
    return "application/json", json.dumps(chunk)


# --- the server -------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "airlock-standin"

    def log_message(self, fmt, *args):
        pass  # every request goes to the JSON log instead

    def send(self, code, ctype, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_airlock")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.handle_any(None)

    def do_HEAD(self):
        self.handle_any(None)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if 0 < n <= 64 << 20 else b""
        if self.headers.get("Content-Encoding") == "gzip" and raw:
            import gzip
            try:
                raw = gzip.decompress(raw)
            except OSError:
                pass
        if self.server.script.dump:
            with open(os.path.join(self.server.script.dump, "%d.body" % (self.server.script.n + 1)),
                      "wb") as f:
                f.write(raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_unparsed": len(raw)}
        self.handle_any(body if isinstance(body, dict) else {"_not_object": True})

    def handle_any(self, body):
        s = self.server.script
        entry = {
            "host": self.headers.get("Host", ""),
            "method": self.command,
            "path": self.path,
            "user_agent": self.headers.get("User-Agent", ""),
            "auth": [h for h in ("x-api-key", "authorization", "x-goog-api-key")
                     if self.headers.get(h)],
            "encoding": self.headers.get("Content-Encoding", ""),
            "upgrade": self.headers.get("Upgrade", ""),
        }
        if body is not None:
            entry["model"] = body.get("model")
            entry["stream"] = bool(body.get("stream"))
        code, ctype, text, answer = self.route(s, body or {}, entry)
        entry["status"] = code
        entry["answer"] = answer
        s.log(entry)
        self.send(code, ctype, text)

    def route(self, s, body, entry):
        path = self.path.split("?", 1)[0]
        if self.command != "POST":
            if s.api == "openai" and path.endswith("/models"):
                return 200, "application/json", json.dumps({"object": "list", "data": [],
                                                            "models": []}), "models"
            return 404, "application/json", json.dumps(
                {"error": {"message": "not in the stand-in", "type": "not_found"}}), "404"
        if s.api == "anthropic" and path.endswith("/messages/count_tokens"):
            return 200, "application/json", json.dumps({"input_tokens": 10}), "count_tokens"
        if s.api == "anthropic" and path.endswith("/messages"):
            tools, result = anthropic_tools(body), anthropic_result(body)
            entry["tools"] = [t[0] for t in tools]
            call = None if result is not None else plan_call(s, tools)
            if result is not None:
                entry["tool_result"] = excerpt(result)
            if call:
                self.held(s)
            ctype, text = anthropic_answer(s, body, call)
            return 200, ctype, text, self.what(call, result)
        if s.api == "openai" and (path.endswith("/responses") or path.endswith("/chat/completions")):
            tools, result = openai_tools(body), openai_result(body)
            entry["tools"] = [t[0] for t in tools]
            call = None if result is not None else openai_call_item(s, tools)
            if result is not None:
                entry["tool_result"] = excerpt(result)
            if call:
                self.held(s)
            ctype, text = openai_answer(s, body, call)
            return 200, ctype, text, self.what(call, result)
        m = re.search(r"/models/([^/:]+):(streamGenerateContent|generateContent|countTokens)$", path)
        if s.api == "gemini" and m:
            entry["model"] = m.group(1)
            if m.group(2) == "countTokens":
                return 200, "application/json", json.dumps({"totalTokens": 10}), "count_tokens"
            tools, result = gemini_tools(body), gemini_result(body)
            entry["tools"] = [t[0] for t in tools]
            entry["stream"] = m.group(2) == "streamGenerateContent"
            call = None if result is not None else plan_call(s, tools)
            if result is not None:
                entry["tool_result"] = excerpt(result)
            if call:
                self.held(s)
            ctype, text = gemini_answer(s, dict(body, model=m.group(1)), call, entry["stream"])
            return 200, ctype, text, self.what(call, result)
        return 404, "application/json", json.dumps(
            {"error": {"message": "not in the stand-in", "type": "not_found"}}), "404"

    def held(self, s):
        """Waits for --hold's file before the tool call is answered."""
        if not s.hold:
            return
        with open(s.hold + ".waiting", "w", encoding="utf-8"):
            pass
        end = time.time() + 300
        while not os.path.exists(s.hold) and time.time() < end:
            time.sleep(0.2)

    @staticmethod
    def what(call, result):
        if call:
            return "tool_call:" + call[0]
        return "final" if result is not None else "text"


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--api", required=True, choices=("anthropic", "openai", "gemini"))
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--dir", required=True, help="the agent's working folder (absolute)")
    ap.add_argument("--file", default="airlock-e2e.txt")
    ap.add_argument("--content", default=CONTENT_DEFAULT)
    ap.add_argument("--listen", default="127.0.0.1:443")
    ap.add_argument("--dump", help="write each request's body to DUMP/N.body (for development)")
    ap.add_argument("--hold", help="answer the tool call only once this file exists "
                    "(at most 300 s): the test looks into the sandbox meanwhile")
    args = ap.parse_args()
    if not args.dir.startswith("/") or "/" in args.file:
        ap.error("--dir must be absolute and --file a plain name")
    host, port = args.listen.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = Server((host, int(port)), Handler)
    # The handshake happens in the request's thread, not in accept().
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                 do_handshake_on_connect=False)
    srv.script = Script(args)
    print("ready", srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
