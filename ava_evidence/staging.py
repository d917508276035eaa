"""Step 2 of a build: decode every needed frame once, save the stills, compose the pairs,
the strip and the chart beside the decoding, and keep report previews.

Frames arrive in BGR; only small copies are kept for composites (a 4K frame is
25 MB), and each composite is made as soon as its frames are in::

    staged = decode_and_compose(index, plan, folder, footer, suggestion, job, on_progress)
    staged.payload, staged.digests, staged.previews
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .analysis import Suggestion
    from .bundle import Job
    from .clip import ClipIndex, Progress
    from .frameplan import FramePlan, PairPlan

MAX_PAIR_HEIGHT = 720
"""Pairs show each half at most this tall: legible in a ticket, quick to attach; the
lossless stills keep the full size."""
STRIP_TILE_WIDTH = 320


@dataclass
class Staged:
    """What the decode-and-compose step left in the staging folder."""

    folder: Path
    payload: list[tuple[str, Path]]
    digests: dict[str, dict[str, str]]
    previews: dict[str, str]
    """Report previews (JPEG data: URIs) by file."""


class _Inline:
    """The part of an executor the compose step uses, running each call at once."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as e:
            future.set_exception(e)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def decode_and_compose(index: ClipIndex, plan: FramePlan, staging: Path, footer: str,
                        suggestion: Suggestion | None, job: Job,
                        on_progress: Progress | None) -> Staged:
    """Decode every needed frame once; save the stills; compose each pair and the strip as
    soon as its frames are in, beside the decoding."""
    from concurrent.futures import ThreadPoolExecutor

    from . import decode
    from .decode import map_frames

    (staging / "frames").mkdir()
    (staging / "pairs").mkdir()
    stills = plan.stills()
    staged = Staged(staging, [(n, staging / n) for names in stills.values() for n in names],
                     {}, {})
    composer = _Composer(index, plan, footer, staged)
    # Drawing and encoding mostly release the GIL, so composites run in threads, except
    # where each process has only its one core (batch workers).
    pool: Any = ThreadPoolExecutor(max_workers=2) if decode.WORKER_THREADS != 0 else _Inline()
    channel = job.route.channel
    preparing = threading.Thread(target=_prepare, daemon=True, args=(
        job.request.template_dir, job.platform.key, channel.kind if channel else None))
    preparing.start()
    shot_frames = {s.index for s in plan.shots}
    try:
        def use(i: int, bgr: np.ndarray) -> str | None:
            composer.take(i, bgr, pool)
            if i in stills:  # one encoding, however many names the frame has
                composer.save_still(i, bgr, stills[i])
            return data_uri(bgr, 480, bgr=True) if i in shot_frames else None

        uris = map_frames(index, plan.needed(), use, bgr=True, on_progress=on_progress)
        staged.previews.update({f"frames/{s.name}": uris[s.index] or "" for s in plan.shots})
        if suggestion is not None:
            from .chart import chart_for

            staged.payload.append(("chart.png", staging / "chart.png"))
            composer.jobs["chart.png"] = pool.submit(composer.save, "chart.png", functools.partial(
                chart_for, suggestion, float(index.duration),
                f"{job.failure.term}, measured: {index.file_name}"))
        staged.previews.update((name, j.result()) for name, j in composer.jobs.items())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    preparing.join()
    if on_progress:
        on_progress("compose", 1, 1)
    return staged


class _Composer:
    """Keeps the small copies composites need and makes each composite when complete
    (only small copies are kept: a 4K frame is 25 MB)."""

    def __init__(self, index: ClipIndex, plan: FramePlan, footer: str, staged: Staged) -> None:
        self.index, self.staged, self.footer = index, staged, footer
        self.small: dict[tuple[str, int], np.ndarray] = {}
        self.pair_frames = {p.left.index for p in plan.pairs} | {p.right.index
                                                                 for p in plan.pairs}
        self.strip = plan.strip
        self.labels = {s.index: s.label for s in plan.shots}
        self.waiting: list[tuple[str, set[tuple[str, int]], Callable[[], Image.Image]]] = [
            (p.file, {("pair", p.left.index), ("pair", p.right.index)},
             functools.partial(self._pair, p)) for p in plan.pairs]
        self.waiting.append(("strip.png", {("strip", i) for i in plan.strip}, self._strip))
        staged.payload += [(name, staged.folder / name) for name, _, _ in self.waiting]
        self.jobs: dict[str, Future[str]] = {}
        self.lock = threading.Lock()

    def _pair(self, p: PairPlan) -> Image.Image:
        from .compose import compose_pair

        note = f"{p.right.label if p.kind != 'mark-after' else p.left.label}: {p.what}" \
            if p.what else None
        return compose_pair(self.small[("pair", p.left.index)], self.small[("pair",
                                                                            p.right.index)],
                            p.left, p.right, self.footer, note=note)

    def _strip(self) -> Image.Image:
        from .compose import Caption, compose_strip

        return compose_strip([(self.small[("strip", i)],
                               Caption(self.labels.get(i, "strip"), i, self.index.time_of(i)))
                              for i in self.strip], self.footer, tile_width=STRIP_TILE_WIDTH)

    def take(self, i: int, bgr: np.ndarray, pool: Any) -> None:
        """Keep frame ``i``'s small copies and start the composites now complete."""
        import cv2

        from .compose import downscale

        copies = {}
        if i in self.pair_frames:
            copies[("pair", i)] = cv2.cvtColor(downscale(bgr, height=MAX_PAIR_HEIGHT),
                                               cv2.COLOR_BGR2RGB)
        if i in self.strip:
            copies[("strip", i)] = cv2.cvtColor(downscale(bgr, width=STRIP_TILE_WIDTH),
                                                cv2.COLOR_BGR2RGB)
        with self.lock:
            self.small.update(copies)
            for item in [w for w in self.waiting if w[1] <= self.small.keys()]:
                self.waiting.remove(item)
                self.jobs[item[0]] = pool.submit(self.save, item[0], item[2])

    def save(self, name: str, make: Callable[[], Image.Image]) -> str:
        """Make and write a composite; return its report preview."""
        import numpy as np

        from .bagit import digests_of
        from .stills import save_png

        rgb = np.asarray(make())
        self.staged.digests[name] = digests_of(save_png(rgb, self.staged.folder / name))
        return data_uri(rgb, 1600)

    def save_still(self, i: int, bgr: np.ndarray, names: list[str]) -> None:
        from .bagit import digests_of
        from .stills import save_png

        data = save_png(bgr, *(self.staged.folder / n for n in names), bgr=True)
        frame_digests = digests_of(data)
        self.staged.digests.update((n, frame_digests) for n in names)


def _prepare(template_dir: str | os.PathLike[str] | None, platform_key: str,
             channel_kind: str | None) -> None:
    """Imports and template compiling for the later steps, beside the decoding (the
    decoder works in FFmpeg's threads with the GIL released)."""
    import cv2  # noqa: F401
    import PIL.Image
    import PIL.ImageDraw  # noqa: F401

    from .tickets import precompile

    with contextlib.suppress(Exception):  # render() reports any problem properly later
        precompile(template_dir, platform_key, channel_kind)


def data_uri(rgb: np.ndarray, max_width: int, *, bgr: bool = False) -> str:
    """A JPEG preview of an image as a data: URI for the report (lossless files are in the bag)."""
    from .compose import downscale
    from .stills import encode_jpeg

    return "data:image/jpeg;base64," + base64.b64encode(
        encode_jpeg(downscale(rgb, width=max_width), 88, bgr=bgr)).decode()
