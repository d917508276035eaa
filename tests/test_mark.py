"""ava-evidence mark: the local page's API, its guards, Ctrl-C, and the page in a real browser."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ava_evidence.markserver import MarkServer, MarkSession, start

from . import clipgen
from .conftest import ClipStore
from .helpers import ctrl_c_reaches_children, run_cli

CLIP = "h264_bframes"


@pytest.fixture
def server(clips: ClipStore, tmp_path: Path) -> Iterator[MarkServer]:
    session = MarkSession.open(clips.path(CLIP), defaults={"platform": "kling", "id": "m-1"},
                               out_dir=tmp_path)
    srv = start(session)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def call(srv: MarkServer, method: str, path: str, body: Any = None, *,
         token: str | None = "header", host: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    port = srv.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = {"Host": host or f"127.0.0.1:{port}", **(headers or {})}
    if token == "header":
        sent["X-Ava-Token"] = srv.session.token
    elif token == "query":
        path += ("&" if "?" in path else "?") + f"token={srv.session.token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=sent)
    response = conn.getresponse()
    out = response.read(), dict(response.getheaders())
    conn.close()
    return response.status, out[0], out[1]


def test_every_request_needs_the_token_and_the_loopback_host(server: MarkServer) -> None:
    assert call(server, "GET", "/api/clip", token="query")[0] == 200
    assert call(server, "GET", "/api/clip")[0] == 200
    status, body, _ = call(server, "GET", "/api/clip", token=None)
    assert status == 403 and json.loads(body)["error"].startswith("missing or wrong token")
    assert call(server, "GET", "/", token=None)[0] == 403
    status, body, _ = call(server, "GET", "/api/clip", host="evil.example:80")
    assert status == 403 and "this computer's own address" in json.loads(body)["error"]
    wrong = {"X-Ava-Token": "not-it"}
    assert call(server, "GET", "/api/clip", token=None, headers=wrong)[0] == 403
    # Changing anything is a POST with the token in a header, from this page only.
    preview = {"platform": "kling", "id": "m-1", "failure": "physics",
               "marks": [{"time": "1", "what": "x"}]}
    assert call(server, "POST", "/api/preview", preview, token="query")[0] == 403
    status, _, _ = call(server, "POST", "/api/preview", preview,
                        headers={"Origin": "https://evil.example"})
    assert status == 403
    assert server.server_address[0] == "127.0.0.1"
    # The page runs only its own script: no eval, no other origin, no framing.
    status, html, headers = call(server, "GET", "/", token="query")
    csp = headers["Content-Security-Policy"]
    assert status == 200 and "script-src 'nonce-" in csp and "unsafe-eval" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert html.count(b"<script") == html.count(f'<script nonce="{nonce}">'.encode()) == 1
    assert headers["Referrer-Policy"] == "no-referrer"  # the token never leaves in a Referer


def test_clip_session_and_frames(server: MarkServer, clips: ClipStore, tmp_path: Path) -> None:
    status, body, headers = call(server, "GET", "/api/clip")
    clip = json.loads(body)
    probe = json.loads(run_cli("probe", clips.path(CLIP), "--json").stdout)
    assert {k: clip[k] for k in probe} == probe  # probe's document, plus the frame times
    assert len(clip["frame_ms"]) == clip["frame_count"] == 60
    assert clip["frame_ms"][24] == 1000
    assert headers["Cache-Control"] == "no-store"
    session = json.loads(call(server, "GET", "/api/session")[1])
    assert session["defaults"] == {"platform": "kling", "id": "m-1"}
    assert any(p["key"] == "pika" and p["asks_for"] == ["Pika User ID"]
               for p in session["platforms"])
    # The frame PNG is the still 'frames' saves for the same index, byte for byte.
    run_cli("frames", clips.path(CLIP), "f37", "-o", tmp_path / "f")
    (saved,) = (tmp_path / "f").iterdir()
    status, png, headers = call(server, "GET", "/api/frame/37.png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert png == saved.read_bytes()
    status, jpg, headers = call(server, "GET", "/api/frame/37.jpg?w=160")
    assert status == 200 and jpg[:2] == b"\xff\xd8"
    status, body, _ = call(server, "GET", "/api/frame/60.png")
    assert status == 404 and "the clip has frames 0 to 59" in json.loads(body)["error"]
    thumbs = json.loads(call(server, "GET", "/api/thumbs?n=6")[1])["thumbs"]
    assert [t["index"] for t in thumbs] == [0, 12, 24, 35, 47, 59]
    assert json.loads(call(server, "GET", "/api/cuts")[1]) == {"cuts": []}
    suggest = json.loads(call(server, "GET", "/api/suggest?failure=physics")[1])
    assert set(suggest) >= {"failure", "candidates", "notes"}
    ranking = json.loads(call(server, "GET", "/api/suggest")[1])  # as suggest without --failure
    assert set(ranking) >= {"summary", "order", "failures"}
    assert call(server, "GET", "/api/nothing")[0] == 404


def test_preview_and_build_share_builds_words(server: MarkServer, tmp_path: Path) -> None:
    body = {"platform": "kling", "id": "m-1", "failure": "physics",
            "marks": [{"time": "f24", "what": "the ball jumps"}], "account": "maya@example.com",
            "credits": "35", "output": "page.zip"}
    status, raw, _ = call(server, "POST", "/api/preview", body)
    doc = json.loads(raw)
    assert status == 200 and "- 0:01 (frame 24): the ball jumps" in doc["text"]
    assert "maya@example.com" in doc["text"] and "account email" not in doc["missing"]
    assert doc["send"]["where"] == "Email support@klingai.com"
    status, raw, _ = call(server, "POST", "/api/build", body)
    built = json.loads(raw)
    assert status == 200 and built["bundle"] == str(tmp_path / "page.zip")
    assert built["manifest"]["frames"][1]["what"] == "the ball jumps"
    with zipfile.ZipFile(tmp_path / "page.zip") as z:
        assert z.read("kling_m-1_physics/data/ticket.txt").decode() == doc["text"]
    assert run_cli("verify", tmp_path / "page.zip").stdout.startswith("OK: ")
    # Never replaced without asking: 409, then the page asks and sends force.
    status, raw, _ = call(server, "POST", "/api/build", body)
    assert status == 409 and json.loads(raw)["error"].endswith(
        "already exists: use --force to replace it, or -o to choose another name.")
    assert call(server, "POST", "/api/build", {**body, "force": True})[0] == 200
    status, report, _ = call(server, "GET", "/api/report")
    assert status == 200 and b"<pre id=\"message\">" in report


@pytest.mark.parametrize(("body", "error"), [
    ({"platform": "kling", "failure": "physics"}, "missing --id: give the id of the generation."),
    ({"platform": "kling", "id": "x", "failure": "physics", "marks": []},
     "Physics Prior Degeneration needs at least 1 marked moment: add --mark TIME=WHAT (for "
     "example --mark '0:02=the ball passes through the rim') where the failure is visible."),
    ({"platform": "kling", "id": "x", "failure": "physics", "marks": [{"time": "9"}]},
     "time '9' is past the end: h264_bframes.mp4 lasts 2.500 s (00:02.500), 60 frames "
     "(f0-f59); use 'end' for the last frame."),
    ({"platform": "nowhere", "id": "x", "failure": "physics"}, "unknown platform 'nowhere': "),
    ({"platform": "kling", "id": "x", "failure": "identity", "credits": "lots"},
     "--credits takes the number of credits the generation used, for example --credits 35 "
     "(got 'lots')."),
    ({"platform": "kling", "id": "x", "failure": "identity", "colour": "red"},
     "unknown field 'colour' in the request."),
    ([1, 2], "the request body must be a JSON object with platform, id, failure and marks."),
])
def test_a_bad_body_is_a_400_with_builds_error(server: MarkServer, body: Any,
                                               error: str) -> None:
    for path in ("/api/preview", "/api/build"):
        status, raw, _ = call(server, "POST", path, body)
        assert status == 400, raw
        assert json.loads(raw)["error"].startswith(error)
    assert list(Path(server.session.out_dir).iterdir()) == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                         (signal.SIGHUP, 129)])
def test_a_signal_stops_the_server_with_its_code_and_leaves_nothing(
        clips: ClipStore, tmp_path: Path, sig: signal.Signals, code: int) -> None:
    """Ctrl-C, SIGTERM and SIGHUP stop the page's server with 130, 143 and 129, as they
    stop build (SIGTERM gave 130)."""
    script = Path(sys.executable).parent / "ava-evidence"
    if not script.exists():
        pytest.skip("the console script is not installed next to this Python")
    with ctrl_c_reaches_children():
        proc = subprocess.Popen([str(script), "mark", str(clips.path(CLIP)), "--no-browser",
                                 "--json"], cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        url = json.loads(line)["url"]
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code
    assert out == ""  # one line of JSON on stdout, then nothing
    assert err.strip().splitlines()[-1] == "Stopped."
    assert list(tmp_path.iterdir()) == []


# -- the page, in a real browser ----------------------------------------------------------

def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.slow
def test_the_page_steps_marks_previews_and_builds(server: MarkServer, tmp_path: Path) -> None:
    browser_path = _browser()
    if browser_path is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]')")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    url = server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-quic"])
        try:
            # The page's CSP forbids eval, which Playwright's waiting helpers use.
            page = browser.new_context(bypass_csp=True).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("document.getElementById('frame').complete && "
                                   "document.getElementById('frame').dataset.index === '0'")
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            page.wait_for_function("document.getElementById('frame').dataset.index === '3' && "
                                   "document.getElementById('frame').complete && "
                                   "document.getElementById('frame').naturalWidth > 0")
            assert clipgen.read_barcode(_shown_pixels(page)) == 3
            assert "frame 3 of 59" in page.inner_text("#readout")
            assert "0.125 s" in page.inner_text("#readout")
            # Shift+Right: one second on; Home: back to the start.
            page.keyboard.press("Shift+ArrowRight")
            page.wait_for_function("document.getElementById('frame').dataset.index === '27'")
            page.keyboard.press("Home")
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            page.keyboard.press("m")
            what = page.locator("input[data-index='3']")
            what.wait_for()
            what.fill("the ball jumps to the left")
            page.keyboard.press("Enter")
            page.fill("#gid", "m-1")
            page.select_option("#failure", "physics")
            page.fill("#account", "maya@example.com")
            page.fill("#credits", "35")
            page.wait_for_function("document.getElementById('message').textContent"
                                   ".includes('the ball jumps to the left')")
            message = page.inner_text("#message")
            assert "- 0:00.125 (frame 3): the ball jumps to the left" in message
            assert "maya@example.com" in message
            assert "Email support@klingai.com" in page.inner_text("#howto")
            page.fill("#output", "from-page.zip")
            page.click("#build")
            page.wait_for_function("document.getElementById('result').textContent"
                                   ".includes('Bundle written')")
            assert errors == []
        finally:
            browser.close()
    out = tmp_path / "from-page.zip"
    assert run_cli("verify", out).stdout.startswith("OK: ")
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("kling_m-1_physics/data/manifest.json"))
    assert [(f["label"], f["index"], f.get("what")) for f in manifest["frames"]] == [
        ("start", 0, None), ("mark", 3, "the ball jumps to the left"), ("end", 59, None)]


def _shown_pixels(page: Any) -> np.ndarray:
    """The displayed frame's own pixels, read back through a canvas."""
    data = page.evaluate("""() => {
        const img = document.getElementById('frame');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        return {w: c.width, h: c.height, px: Array.from(px)};
    }""")
    rgba = np.array(data["px"], dtype=np.uint8).reshape(data["h"], data["w"], 4)
    return rgba[..., :3]



def test_odd_requests_get_a_clear_answer(server: MarkServer, tmp_path: Path) -> None:
    """Review 2: no traceback, no silence, nothing written outside the bundle folder."""
    status, raw, _ = call(server, "PUT", "/api/build", {"x": 1})
    assert status == 405 and json.loads(raw)["error"].startswith("PUT is not used here")
    deep = "[" * 100_000 + "]" * 100_000
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/preview", body=deep.encode(),
                 headers={"Host": f"127.0.0.1:{port}", "X-Ava-Token": server.session.token,
                          "Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["error"] == "the request body is not valid JSON."
    conn.close()
    big = b"x" * (73 * 1024 * 1024)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/build", body=big,
                 headers={"Host": f"127.0.0.1:{port}", "X-Ava-Token": server.session.token,
                          "Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413 and b"over 72 MB" in response.read()
    conn.close()
    body = {"platform": "kling", "id": "m-1", "failure": "physics",
            "marks": [{"time": "1", "what": "x"}]}
    status, raw, _ = call(server, "POST", "/api/build",
                          {**body, "marks": [{"time": "1", "colour": "red"}]})
    assert status == 400 and "'marks' must be a list of {time, what} objects." in raw.decode()
    status, raw, _ = call(server, "POST", "/api/build", {**body, "output": "sub/x.zip"})
    assert status == 422 and json.loads(raw)["error"].startswith(
        f"folder {tmp_path / 'sub'} does not exist")
    assert list(tmp_path.iterdir()) == []
    # The output is build's -o: a name in the folder mark serves, or a path of the user's.
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere.zip"
    status, raw, _ = call(server, "POST", "/api/build", {**body, "output": str(elsewhere)})
    assert status == 200 and json.loads(raw)["bundle"] == str(elsewhere)
    elsewhere.unlink()


def test_mark_refuses_what_build_refuses_before_serving(clips: ClipStore, tmp_path: Path) -> None:
    result = run_cli("mark", clips.path(CLIP), "--platform", "sora", "--no-browser", expect=2)
    assert result.stderr.startswith("Error: OpenAI Sora is discontinued (since 2026-09-24)")
    result = run_cli("mark", clips.path(CLIP), "-o", tmp_path / "nope", "--no-browser", expect=1)
    assert result.stderr.startswith(f"Error: folder {tmp_path / 'nope'} does not exist")


def test_the_form_knows_each_platforms_profile_and_words(clips: ClipStore,
                                                        tmp_path: Path) -> None:
    run_cli("profile", "set", "runway", "--account", "me@example.com", "--plan", "pro")
    session = MarkSession.open(clips.path(CLIP), defaults={}, out_dir=tmp_path)
    from ava_evidence.markserver import session_document

    doc = session_document(session)
    assert doc["profiles"] == {"runway": {"account": "me@example.com", "plan": "pro"}}
    usage = {p["key"]: p["usage_label"] for p in doc["platforms"]}
    assert usage["ltx"] == "Computing seconds used" and usage["veo"] is None
