#!/usr/bin/env python3
"""Drives the server's web page in a real headless browser (Debian's chromium) over the Chrome
DevTools Protocol: loads URL, gives FILE to the page's file input (as a person picking it
would), waits for the rendered classes, saves a screenshot to SHOT and prints
{"rows": [[label, percent], ...], "time": ..., "error": ...} as one JSON line.
Every wait is bounded; the browser is killed on every way out.

    page_in_browser.py URL FILE SHOT
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # Debian's python3-websocket

TIMEOUT_S = 60


def browser_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("page_in_browser: no chromium on PATH (scripts/setup.sh installs Debian's chromium)")


class DevTools:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=TIMEOUT_S, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, name):
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    return self.events.pop(i)
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(name)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r.get("result", {}).get("value")


def main():
    url, file, shot = sys.argv[1:4]
    profile = tempfile.mkdtemp(prefix="page_in_browser_")
    proc = subprocess.Popen(
        [browser_binary(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--remote-debugging-port=0", "--remote-allow-origins=*",
         f"--user-data-dir={profile}", "--window-size=900,700", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + TIMEOUT_S
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if proc.poll() is not None or time.time() > deadline:
                sys.exit("page_in_browser: chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(open(port_file).read().split("\n")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT_S) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call("Page.navigate", url=url)
        tools.wait_event("Page.loadEventFired")
        root = tools.call("DOM.getDocument")["root"]["nodeId"]
        node = tools.call("DOM.querySelector", nodeId=root, selector="#pick")["nodeId"]
        tools.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(file)])
        rows, error = [], ""
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline:
            rows = tools.eval("[...document.querySelectorAll('#out .row')]"
                              ".map(r => [r.children[0].textContent, r.children[2].textContent])")
            error = tools.eval("document.getElementById('err').textContent")
            if rows or error:
                break
            time.sleep(0.1)
        shown = tools.eval("document.getElementById('time').textContent")
        png = tools.call("Page.captureScreenshot", format="png")["data"]
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        print(json.dumps({"rows": rows or [], "time": shown, "error": error}))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
