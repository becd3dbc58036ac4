"""Four sequential requests to a model served first by a provider that accepts the
connection and never answers (`upstream-timeout-s: 3`), then by a good one. Prints
each request's seconds and how many connections the silent provider got.

    python3 bench/silent_failover.py target/debug/plugboard target/adapters
"""
import json, socket, subprocess, sys, tempfile, threading, time, os, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

binary, adapters = sys.argv[1], sys.argv[2]

silent = socket.socket(); silent.bind(("127.0.0.1", 0)); silent.listen(64)
held = []
def hold():
    while True:
        c, _ = silent.accept(); held.append(c)
threading.Thread(target=hold, daemon=True).start()

class Good(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        body = json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}).encode()
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
good = ThreadingHTTPServer(("127.0.0.1", 0), Good)
threading.Thread(target=good.serve_forever, daemon=True).start()

work = tempfile.mkdtemp()
cfg = f"""listen: 127.0.0.1:0
api-keys: [sk-measure]
adapters-dir: {adapters}
cache-dir: {work}/cache
limits: {{upstream-timeout-s: 3}}
providers:
  - {{name: silent, adapter: openai, base-url: 'http://127.0.0.1:{silent.getsockname()[1]}/v1', api-keys: [sk-a-123456789], models: [m]}}
  - {{name: good, adapter: openai, base-url: 'http://127.0.0.1:{good.server_port}/v1', api-keys: [sk-b-123456789], models: [m]}}
"""
open(f"{work}/c.yaml", "w").write(cfg)
p = subprocess.Popen([binary, "serve", "--config", f"{work}/c.yaml"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
url = next(w for w in p.stdout.readline().split() if w.startswith("http://"))
times = []
for i in range(4):
    req = urllib.request.Request(url + "/v1/chat/completions", method="POST",
        data=json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"authorization": "Bearer sk-measure", "content-type": "application/json"})
    t = time.monotonic(); urllib.request.urlopen(req, timeout=60).read(); times.append(time.monotonic() - t)
p.terminate(); p.wait(timeout=10)
print("per-request seconds:", " ".join(f"{t:.2f}" for t in times), "| total", f"{sum(times):.2f}", "| silent upstream got", len(held), "connections")
