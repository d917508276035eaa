"""``ava-evidence mark``: a local page to find the failure frame by frame and build the bundle.

One user, one clip, this machine only. The standard library's threaded HTTP
server is enough, and it is guarded as a page that can write files must be:

- it listens on 127.0.0.1 only;
- every request carries the session's random token (``?token=`` or the
  ``X-Ava-Token`` header); requests that change anything are POSTs with the
  token in the header, so a link or an image on another site cannot trigger
  them;
- the Host header must name the loopback address (a DNS-rebinding page cannot
  reach it under another name), and a POST from another origin is refused;
- it reads only the clip it was started with (and what the page sends), and
  writes only the bundle, through the same code path as ``build``.

The page is one self-contained HTML file shipped in the package (no CDN); the
frames it shows come from the tool's own decoding, never from the browser's
seeking::

    session = MarkSession.open(Path("clip.mp4"), defaults={"platform": "kling"})
    server = start(session, port=0)
    print(server.url); server.serve_forever()
"""

from __future__ import annotations

import base64
import hmac
import http.server
import json
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .errors import AvaError, OutputError, UsageError

if TYPE_CHECKING:
    from .bundle import BuildRequest
    from .catalog import Catalog
    from .clip import ClipIndex

MAX_BODY = 72 * 1024 * 1024
"""A request body holds at most the fields and one reference image (50 MB, as base64)."""
FRAME_CACHE_BYTES = 96 * 1024 * 1024
PREFETCH = 4
"""Frames decoded ahead of the one asked for: stepping forward costs one decode per few."""


class FrameCache:
    """Encoded stills by frame, decoded a few at a time, least recently used dropped."""

    def __init__(self, index: ClipIndex) -> None:
        self.index = index
        self._png: OrderedDict[int, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def png(self, i: int) -> bytes:
        """The exact still of frame ``i``, lossless, as ``frames`` would save it."""
        with self._lock:
            if i not in self._png:
                self._decode(range(i, min(self.index.frame_count, i + PREFETCH + 1)))
            self._png.move_to_end(i)
            return self._png[i]

    def _decode(self, wanted: range) -> None:
        from .compose import as_8bit
        from .decode import map_frames
        from .stills import encode_png

        # The page shows 8 bits, as previews do (a 10-bit clip's still is 16-bit in the bag).
        encoded = map_frames(self.index, [i for i in wanted if i not in self._png],
                             lambda i, bgr: encode_png(as_8bit(bgr), bgr=True), bgr=True)
        for i, data in encoded.items():
            self._png[i] = data
            self._size += len(data)
        while self._size > FRAME_CACHE_BYTES and len(self._png) > len(wanted):
            _, dropped = self._png.popitem(last=False)
            self._size -= len(dropped)

    def thumbnails(self, count: int, width: int = 160) -> list[dict[str, Any]]:
        """``count`` small JPEGs spread over the clip, in one decode pass."""
        from .staging import data_uri

        n = self.index.frame_count
        picks = sorted({round(k * (n - 1) / max(1, count - 1)) for k in range(count)})
        from .decode import map_frames

        uris = map_frames(self.index, picks, lambda i, bgr: data_uri(bgr, width, bgr=True),
                          bgr=True)
        return [{"index": i, "src": uris[i]} for i in picks]


@dataclass
class MarkSession:
    """What one ``mark`` run serves: its clip, its token, the defaults for the form."""

    clip: Path
    index: ClipIndex
    token: str
    defaults: dict[str, Any]
    catalog: Catalog
    out_dir: Path
    channels_file: Path | None = None
    template_dir: Path | None = None
    allow_truncated: bool = False
    profiles: dict[str, Any] = field(default_factory=dict)
    """The user's profile entries, to fill the form when the platform changes."""
    frames: FrameCache = field(init=False)
    last_bundle: Path | None = None
    _cuts: list[int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.frames = FrameCache(self.index)

    @classmethod
    def open(cls, clip: Path, *, defaults: dict[str, Any], out_dir: Path,
             channels_file: Path | None = None, template_dir: Path | None = None,
             allow_truncated: bool = False, on_progress: Any = None) -> MarkSession:
        """Index the clip (refusing a truncated one, as build does, unless allowed)."""
        from .catalog import load_catalog
        from .clip import index_clip
        from .profile import load_profile

        if not out_dir.is_dir():
            raise OutputError(f"folder {out_dir} does not exist: create it (mkdir -p {out_dir}) "
                              f"or choose another -o.")
        catalog = load_catalog(channels_file)
        platform = defaults.get("platform")
        if platform:
            found = catalog.platform(platform)
            if found.discontinued is not None:
                raise UsageError(f"{found.name} is discontinued (since "
                                 f"{found.discontinued.date}), so no credit request can be "
                                 f"sent there. {found.discontinued.remaining}")
        index = index_clip(clip, on_progress=on_progress, allow_truncated=allow_truncated)
        if index.truncation is not None and not allow_truncated:
            raise index.truncation.error(index.file_name)
        return cls(clip, index, secrets.token_urlsafe(18), defaults, catalog, out_dir,
                   channels_file, template_dir, allow_truncated, load_profile())

    def cuts(self) -> list[int]:
        """Frames that start a new shot (one pass over the clip, the first time)."""
        with self._lock:
            if self._cuts is None:
                from .analysis import shot_cuts

                self._cuts = shot_cuts(self.index)
            return self._cuts


def clip_document(index: ClipIndex) -> dict[str, Any]:
    """``probe --json``'s document, plus each frame's time in whole milliseconds (rounded
    up, as every time the tool prints) so the page shows the same times."""
    from .timecode import _ceil_ms

    return {**index.to_dict(), "keyframes": [float(index.time_of(k)) for k in index.keyframes],
            "frame_ms": [_ceil_ms(t) for t in index.frame_times],
            "duration_ms": _ceil_ms(index.duration)}


def session_document(session: MarkSession) -> dict[str, Any]:
    """The form's choices and defaults: platforms, plans, ID hints, failures."""
    cat = session.catalog
    return {
        "clip": session.clip.name,
        "defaults": session.defaults,
        "platforms": [{
            "key": p.key, "name": p.name, "discontinued": p.discontinued is not None,
            "plans": dict(p.plans.tiers) if p.plans else None,
            "id_name": p.id.name, "id_where": p.id.where,
            "account_label": p.account.label, "account_placeholder": p.account.placeholder,
            "usage_label": p.usage.label if p.usage else None,
            "asks_for": sorted({a.label for c in p.channels for a in c.asks_for}),
        } for p in cat.platforms.values()],
        "profiles": {k: e.to_dict() for k, e in session.profiles.items()},
        "failures": [{"key": f.key, "term": f.term, "advice": f.evidence.advice,
                      "min_marks": f.evidence.min_marks,
                      "needs_prompt": f.evidence.needs_prompt}
                     for f in cat.failures.values()],
    }


_TEXT_FIELDS = ("account", "prompt", "generated", "credits", "settings", "use", "note",
                "model", "plan", "output")


def request_from_body(body: Any, session: MarkSession) -> BuildRequest:
    """A build request from the page's JSON, checked as build checks its options."""
    from .bundle import BuildRequest
    from .facts import MarkSpec, TicketFacts, clean_line

    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object with platform, id, failure "
                         "and marks.")
    unknown = sorted(set(body) - {"platform", "id", "failure", "marks", "force", "details",
                                  "reference", *_TEXT_FIELDS})
    if unknown:
        raise UsageError(f"unknown field '{unknown[0]}' in the request.")
    for key in ("platform", "id", "failure"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            flag = "--id" if key == "id" else f"--{key}"
            raise UsageError(f"missing {flag}: give the {key} of the generation.")
    text = {k: _text(body, k) for k in _TEXT_FIELDS}
    marks = body.get("marks", [])
    if not isinstance(marks, list) or not all(
            isinstance(m, dict) and set(m) <= {"time", "what"} and
            isinstance(m.get("time"), str) and
            isinstance(m.get("what", ""), (str, type(None))) for m in marks):
        raise UsageError("'marks' must be a list of {time, what} objects.")
    details = body.get("details", [])
    if not isinstance(details, list) or not all(isinstance(d, str) for d in details):
        raise UsageError("'details' must be a list of 'LABEL=VALUE' texts.")
    facts = TicketFacts.from_user(
        account=text["account"], generated=text["generated"], model=text["model"],
        settings=text["settings"], credits=text["credits"], prompt=text["prompt"],
        use=text["use"], note=text["note"], details=tuple(details))
    return BuildRequest(
        session.clip, platform=body["platform"], generation_id=body["id"],
        failure=body["failure"],
        marks=tuple(MarkSpec(m["time"].strip(), clean_line(m.get("what") or "",
                                                           "a mark's description") or None)
                    for m in marks),
        plan=text["plan"], facts=facts, reference_data=_reference(body.get("reference")),
        output=_output(text["output"], session.out_dir), force=body.get("force") is True,
        channels_file=session.channels_file, template_dir=session.template_dir,
        allow_truncated=session.allow_truncated)


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UsageError(f"'{key}' must be text.")
    return value


def _reference(value: Any) -> tuple[str, bytes] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or \
            not isinstance(value.get("data"), str):
        raise UsageError("'reference' must be {name, data} with the image as base64.")
    data = value["data"].split(",", 1)[1] if value["data"].startswith("data:") else value["data"]
    try:
        return value["name"], base64.b64decode(data, validate=True)
    except ValueError:
        raise UsageError("the reference image's data is not base64: choose the file "
                         "again.") from None


def _output(value: str | None, out_dir: Path) -> Path:
    """Where the bundle goes, as build's -o: a .zip name or a folder; relative to the
    folder mark was started for."""
    if value is None:
        return out_dir
    path = Path(value.strip())
    return path if path.is_absolute() else out_dir / path


# -- HTTP --------------------------------------------------------------------------------

_FRAME = re.compile(r"^/api/frame/(\d{1,9})\.(png|jpg)$")
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Handler(http.server.BaseHTTPRequestHandler):
    server: MarkServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a local page for one user: the terminal shows only the URL and errors

    # -- entry points

    def do_GET(self) -> None:
        self._serve(self._get)

    def do_POST(self) -> None:
        self._serve(self._post)

    def do_HEAD(self) -> None:
        self._send(405, b"", "text/plain")

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._json(405, {"error": f"{self.command} is not used here: the page only GETs and "
                                  f"POSTs."})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _serve(self, route: Any) -> None:
        if self.command == "POST":
            # A refused request's body is never read: never take it for a next request.
            self.close_connection = True
        try:
            self._check_host()
            url = urlsplit(self.path)
            self._check_token(parse_qs(url.query))
            route(url.path, parse_qs(url.query))
        except _Refused as e:
            self._json(e.status, {"error": str(e)})
        except (UsageError, OutputError) as e:
            exists = isinstance(e, OutputError) and "already exists" in str(e)
            # an output the user can change (a folder that is not there): not the server's
            status = 409 if exists else (400 if isinstance(e, UsageError) else 422)
            self._json(status, {"error": str(e), "exists": exists})
        except AvaError as e:
            self._json(422, {"error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _check_host(self) -> None:
        port = self.server.server_address[1]
        allowed = {f"127.0.0.1:{port}", f"localhost:{port}"}
        if self.headers.get("Host", "") not in allowed:
            raise _Refused(403, "this page answers only on this computer's own address.")

    def _check_token(self, query: dict[str, list[str]]) -> None:
        token = self.server.session.token
        given = self.headers.get("X-Ava-Token") or ""
        if self.command == "GET" and not given:
            given = (query.get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _Refused(403, "missing or wrong token: open the URL ava-evidence mark "
                                "printed.")
        if self.command == "POST":
            origin = self.headers.get("Origin")
            if origin is not None and origin not in self.server.origins:
                raise _Refused(403, "requests from other sites are refused.")

    # -- routes

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        s = self.server.session
        frame = _FRAME.match(path)
        if path == "/":
            self._page()
        elif frame:
            self._frame(int(frame.group(1)), frame.group(2), query)
        elif path == "/api/clip":
            self._json(200, clip_document(s.index))
        elif path == "/api/session":
            self._json(200, session_document(s))
        elif path == "/api/thumbs":
            count = _int(query, "n", 12, 2, 48)
            self._json(200, {"thumbs": s.frames.thumbnails(count)})
        elif path == "/api/cuts":
            self._json(200, {"cuts": s.cuts()})
        elif path == "/api/suggest":
            self._json(200, self._suggest((query.get("failure") or [""])[0].strip()))
        elif path == "/api/report":
            self._report()
        elif path == "/api/video":
            self._video()
        else:
            raise _Refused(404, f"no such page: {path}")

    def _post(self, path: str, query: dict[str, list[str]]) -> None:
        from .bundle import build, preview

        if "token" in query:
            raise _Refused(403, "send the token in the X-Ava-Token header, not the URL.")
        body = self._body()
        s = self.server.session
        request = request_from_body(body, s)
        if path == "/api/preview":
            self._json(200, preview(request, s.index, catalog=s.catalog))
        elif path == "/api/build":
            with self.server.building:
                result = build(request, catalog=s.catalog)
            s.last_bundle = result.path
            self._json(200, {"bundle": str(result.path), "manifest": result.manifest,
                             "missing": list(result.missing),
                             "report": f"/api/report?token={s.token}"})
        else:
            raise _Refused(404, f"no such action: {path}")

    def _suggest(self, failure: str) -> dict[str, Any]:
        """suggest --json's document; without a failure, the ranking of every failure."""
        from .analysis import rank_failures, suggest

        s = self.server.session
        if not failure:
            ranking = rank_failures(s.index)
            terms = {k: s.catalog.failure(k).term for k in ranking.results}
            return {"summary": ranking.summary(terms), **ranking.to_dict()}
        key = s.catalog.failure(failure).key
        return suggest(s.index, key).to_dict()

    def _body(self) -> Any:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _Refused(411, "a request body needs its Content-Length.")
        if int(length) > MAX_BODY:
            self._drain(int(length))
            raise _Refused(413, f"the request is over {MAX_BODY // (1024 * 1024)} MB: choose a "
                                f"smaller reference image.")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            raise _Refused(415, "send the request as application/json.")
        raw = self.rfile.read(int(length))
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise UsageError("the request body is not valid JSON.") from None

    def _drain(self, length: int) -> None:
        """Read (and drop) a body too big to use, so the client gets the answer instead of a
        broken connection; a body far too big is not worth reading."""
        if length > 4 * MAX_BODY:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def _frame(self, i: int, kind: str, query: dict[str, list[str]]) -> None:
        s = self.server.session
        if not 0 <= i < s.index.frame_count:
            raise _Refused(404, f"frame {i} does not exist: the clip has frames 0 to "
                                f"{s.index.frame_count - 1}.")
        if kind == "png":
            self._send(200, s.frames.png(i), "image/png")
            return
        import cv2
        import numpy as np

        from .compose import downscale
        from .stills import encode_jpeg

        width = _int(query, "w", 320, 16, 4096)
        bgr = cv2.imdecode(np.frombuffer(s.frames.png(i), np.uint8), cv2.IMREAD_COLOR)
        assert bgr is not None  # the PNG was encoded here a moment ago
        self._send(200, encode_jpeg(downscale(bgr, width=width), 85, bgr=True), "image/jpeg")

    def _report(self) -> None:
        import zipfile

        bundle = self.server.session.last_bundle
        if bundle is None:
            raise _Refused(404, "no bundle has been built yet.")
        with zipfile.ZipFile(bundle) as z:
            name = next(n for n in z.namelist() if n.endswith("/data/report.html"))
            self._send(200, z.read(name), "text/html; charset=utf-8")

    def _video(self) -> None:
        """The clip itself, for the browser's own player (watching only; every still the
        page shows comes from the tool's decoding). Byte ranges, so it can seek."""
        path = self.server.session.clip
        size = path.stat().st_size
        start, end = 0, size - 1
        m = re.match(r"bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start = max(0, size - int(m.group(2)))
        if start > end:
            self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            return
        with path.open("rb") as f:
            f.seek(start)
            data = f.read(min(end - start + 1, 8 * 1024 * 1024))
        headers = {"Accept-Ranges": "bytes",
                   "Content-Range": f"bytes {start}-{start + len(data) - 1}/{size}"}
        import mimetypes

        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(206 if m else 200, data, kind, headers)

    def _page(self) -> None:
        nonce = secrets.token_urlsafe(12)
        html = (Path(__file__).parent / "web" / "mark.html").read_text(encoding="utf-8")
        html = html.replace("{{NONCE}}", nonce)
        csp = (f"default-src 'none'; img-src 'self' data: blob:; media-src 'self'; "
               f"connect-src 'self'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
               f"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        self._send(200, html.encode("utf-8"), "text/html; charset=utf-8",
                   {"Content-Security-Policy": csp})

    # -- replies

    def _json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in {**_PAGE_HEADERS, "Content-Type": content_type,
                     "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _int(query: dict[str, list[str]], key: str, default: int, low: int, high: int) -> int:
    values = query.get(key)
    if not values:
        return default
    if not values[0].isdigit():
        raise UsageError(f"'{key}' must be a whole number.")
    return max(low, min(high, int(values[0])))


class MarkServer(http.server.ThreadingHTTPServer):
    """The page's server, bound to 127.0.0.1 only."""

    daemon_threads = True
    allow_reuse_address = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that goes away mid-answer is no error worth a traceback."""
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def __init__(self, session: MarkSession, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.session = session
        self.building = threading.Lock()
        bound = self.server_address[1]
        self.origins = {f"http://127.0.0.1:{bound}", f"http://localhost:{bound}"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/?token={self.session.token}"


def start(session: MarkSession, port: int = 0) -> MarkServer:
    """Bind the server (port 0: any free port); the caller runs ``serve_forever``."""
    try:
        return MarkServer(session, port)
    except OSError as e:
        raise OutputError(f"cannot listen on 127.0.0.1:{port} ({e.strerror or e}): choose "
                          f"another --port, or leave it out for a free one.") from e
