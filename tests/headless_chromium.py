"""Open a local HTML file in headless Chromium (Debian's ``chromium``) and report what happened.

Driven over the DevTools protocol with a small websocket client: console errors and uncaught
exceptions are collected, the page's own ``window.chartsRendered`` promise is awaited, then
every chart's SVG marks are counted and a screenshot is taken. The browser gets a fresh
profile, no network use of its own, and only the ``file://`` page.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from websockets.sync.client import connect

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,2400",
]

COUNT_MARKS = """
Array.from(document.querySelectorAll('.chart')).map((div) => ({
  id: div.id,
  svg: div.querySelectorAll('svg').length,
  marks: div.querySelectorAll('svg .role-mark path, svg .role-mark rect, svg .role-mark line,'
    + ' svg .role-mark text, svg .role-mark circle').length,
}))
"""


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Cdp:
    def __init__(self, ws_url: str) -> None:
        self.ws = connect(ws_url, max_size=64 * 1024 * 1024, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, timeout: float = 60, **params) -> dict:
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)


def render_page(html_path: Path, screenshot: Path) -> dict:
    """Load ``html_path``; return console errors, chart marks, the render state."""
    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="smarketing-chromium-"))
    proc = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        targets = _json_get(f"http://127.0.0.1:{port}/json/list")
        page = next(t for t in targets if t["type"] == "page")
        cdp = _Cdp(page["webSocketDebuggerUrl"])
        cdp.call("Runtime.enable")
        cdp.call("Log.enable")
        cdp.call("Page.enable")
        cdp.call("Page.navigate", url=html_path.resolve().as_uri())
        state = cdp.call(
            "Runtime.evaluate",
            expression="(async () => { for (let i = 0; i < 300 && !window.chartsRendered; i++)"
            " await new Promise(r => setTimeout(r, 100));"
            " await window.chartsRendered; return document.body.dataset.charts || 'none'; })()",
            awaitPromise=True,
            returnByValue=True,
            timeout=90,
        )["result"].get("value")
        charts = cdp.call("Runtime.evaluate", expression=COUNT_MARKS, returnByValue=True)["result"][
            "value"
        ]
        shot = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        errors = []
        for event in cdp.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(json.dumps(params.get("args"))[:500])
            elif method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params.get("exceptionDetails"))[:500])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", "")[:500])
        cdp.ws.close()
        return {"state": state, "charts": charts, "console_errors": errors}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def _json_get(url: str) -> list[dict]:
    from urllib.request import urlopen

    with urlopen(url, timeout=10) as response:  # 127.0.0.1 only: the browser's DevTools
        return json.loads(response.read())
