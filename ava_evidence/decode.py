"""Decode exactly the frames asked for, each once, from its nearest keyframe.

Seeking in a container lands on *some* keyframe; which one depends on the
demuxer, edit lists and B-frame delay. So after a seek this module identifies
packets by their timestamps against the clip index, starts feeding the decoder
at the planned keyframe packet, and identifies every decoded frame by its
presentation timestamp. A seek that overshoots falls back to decoding from the
start; a wrong frame is never returned.

Frames come out as upright RGB arrays in the colours a player shows::

    for index, rgb in decode_frames(clip_index, [0, 48, 239]):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

from .clip import DAMAGE_ERRORS, clip_url, display_width, interrupted
from .errors import ClipError

if TYPE_CHECKING:
    import numpy as np

    from .clip import ClipIndex, Progress

T = TypeVar("T")


@dataclass
class _Run:
    """Frames decoded in one go from one keyframe."""

    seek: int  # position in ClipIndex.seek_points
    targets: list[int] = field(default_factory=list)


@dataclass
class DecodeStats:
    """What a decode did, for tests and the benchmark: the frames the decoder
    produced, in order, and how many seeks it made."""

    decoded: list[int] = field(default_factory=list)
    seeks: int = 0
    fallbacks: int = 0


class _Overshoot(Exception):
    """The demuxer's seek landed after the keyframe we planned to start from."""


def plan(index: ClipIndex, wanted: Iterable[int]) -> list[_Run]:
    """Group the wanted frames into decode runs.

    A frame joins the current run when no keyframe lies between the run's last
    frame and it (decoding on is then the cheapest way there); otherwise a new
    run starts at its nearest preceding keyframe.
    """
    runs: list[_Run] = []
    for target in sorted(set(wanted)):
        if not 0 <= target < index.frame_count:
            raise ValueError(f"frame {target} outside 0..{index.frame_count - 1}")
        sp = index.seek_point_for(target)
        if runs and index.seek_points[sp][0] <= runs[-1].targets[-1]:
            runs[-1].targets.append(target)
        else:
            runs.append(_Run(sp, [target]))
    return runs


def decode_frames(index: ClipIndex, wanted: Iterable[int], *,
                  on_progress: Progress | None = None,
                  stats: DecodeStats | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame index, RGB array)`` for every wanted frame, in ascending order."""
    for i, frame in _decoded(index, wanted, on_progress=on_progress, stats=stats):
        yield i, _rgb_of(index, i, frame)


def map_frames(index: ClipIndex, wanted: Iterable[int], work: Callable[[int, np.ndarray], T],
               *, threads: int | None = None, bgr: bool = False,
               on_progress: Progress | None = None,
               stats: DecodeStats | None = None) -> dict[int, T]:
    """Run ``work(frame index, RGB array)`` for every wanted frame; return its results.

    ``bgr`` hands ``work`` BGR arrays instead (OpenCV's order, so saving a PNG
    needs no extra full-size copy). ``threads`` defaults to two, or one for
    frames over 1440p, whose copies in flight would cost too much memory.

    This thread only feeds the decoder; colour conversion and ``work`` (saving a
    PNG, scaling) run on ``threads`` worker threads. With frame threading the
    decoder stalls whenever nobody sends it packets, so converting on the
    decoding thread would put every still's cost in series with the decode.
    The first error from ``work`` stops the decode and is raised here.
    """
    from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

    def job(i: int, frame: Any) -> T:
        return work(i, _rgb_of(index, i, frame, bgr))

    if threads is None:
        threads = (WORKER_THREADS if WORKER_THREADS is not None
                   else 2 if index.width * index.height <= LARGE_FRAME_PIXELS else 1)
    frames = _decoded(index, wanted, on_progress=on_progress, stats=stats)
    if threads == 0:
        try:
            return {i: job(i, frame) for i, frame in frames}
        finally:
            frames.close()
    futures: dict[int, Future[T]] = {}
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ava-frames") as pool:
        try:
            for i, frame in frames:
                futures[i] = pool.submit(job, i, frame)
                # Bound the decoded frames waiting for a worker (a 4K frame is 12 MB).
                busy = [f for f in futures.values() if not f.done()]
                while len(busy) > threads:
                    wait(busy, return_when=FIRST_EXCEPTION)
                    busy = [f for f in busy if not f.done()]
                for f in futures.values():
                    if f.done() and f.exception() is not None:
                        raise f.exception()  # type: ignore[misc]
            return {i: f.result() for i, f in futures.items()}
        finally:
            frames.close()  # closes the file now, not when the generator is collected
            for f in futures.values():
                f.cancel()


def _decoded(index: ClipIndex, wanted: Iterable[int], *, on_progress: Progress | None,
             stats: DecodeStats | None) -> Generator[tuple[int, Any], None, None]:
    """Yield ``(frame index, decoded av.VideoFrame)`` for every wanted frame, in order."""
    import av

    stats = stats if stats is not None else DecodeStats()
    runs = plan(index, wanted)
    total = sum(r.targets[-1] - index.seek_points[r.seek][0] + 1 for r in runs)
    done = 0
    container = _open(index)
    run = runs[0] if runs else None
    try:
        for run in runs:
            try:
                yield from _decode_run(container, index, run, stats, seek=run.seek != 0)
            except _Overshoot:
                stats.fallbacks += 1
                container.close()
                container = _open(index)
                yield from _decode_run(container, index, _Run(0, run.targets), stats, seek=False)
            done += run.targets[-1] - index.seek_points[run.seek][0] + 1
            if on_progress is not None:
                on_progress("decode", done, total)
    except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
        interrupted(e)
        raise damaged(index, run.targets[0] if run else 0) from e
    finally:
        container.close()


def decodable_end(index: ClipIndex) -> int:
    """How many frames, from the start, decode cleanly: the run from the last keyframe
    is decoded to the end (for a truncated clip, whose last frames may be cut)."""
    start = index.seek_points[-1][0]
    good = start - 1
    try:
        for i, _ in _decoded(index, range(start, index.frame_count), on_progress=None,
                             stats=None):
            good = i
    except ClipError:
        pass
    return good + 1


def _rgb_of(index: ClipIndex, i: int, frame: Any, bgr: bool = False) -> np.ndarray:
    import av

    try:
        return to_rgb(frame, index.orientation, bgr=bgr, aspect=index.sample_aspect,
                      deep=index.bit_depth > 8)
    except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
        raise damaged(index, i) from e


LARGE_FRAME_PIXELS = 2560 * 1440
"""Above this, one frame at a time is converted and saved: a 4K RGB frame is 25 MB,
and the peak memory of a 4K build stays under 400 MB."""

WORKER_THREADS: int | None = None
"""Threads that convert and save frames beside the decoder (None: by frame size).
Batch workers set 0, doing it all on their one thread: they already run one clip
per core."""

DECODER_THREADS: int | None = None
"""Decoder threads per clip (None: by frame size and cores). Batch workers set 1."""


def decoder_threads(width: int, height: int) -> int:
    """Frame threads for decoding: 0 lets FFmpeg choose (one per core, plus one).

    Up to 1440p, one more than FFmpeg's choice. Packets are fed from Python, and
    while the feeding thread waits for the GIL the decoder would otherwise run dry;
    measured on 2 cores, a 10 s 1080p build is about 4% faster. Larger frames keep
    FFmpeg's choice: each thread in flight holds frames, and 4K memory is bounded.
    """
    import os

    if DECODER_THREADS is not None:
        return DECODER_THREADS
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cores or cores < 2 or width * height > LARGE_FRAME_PIXELS:
        return 0
    return min(cores + 2, 16)


MEASURE_ONE_THREAD_PIXELS = 1280 * 720
"""Up to this frame size, the analysis pass (:func:`iter_luma`) decodes on one thread:
it keeps pace with the analysis beside it (about 1.5 ms a 720p frame each), and more
threads would only take the analysis's core. On 2 cores a 10-minute 720p `suggest` took
about 30 s instead of 35 s; 10 s clips the same. Larger frames decode slower than they
are measured and keep :func:`decoder_threads`; a set DECODER_THREADS wins."""


def measure_threads(width: int, height: int) -> int:
    """Decoder threads for the analysis pass (see MEASURE_ONE_THREAD_PIXELS)."""
    if DECODER_THREADS is None and width * height <= MEASURE_ONE_THREAD_PIXELS:
        return 1
    return decoder_threads(width, height)


def _open(index: ClipIndex, threads: int | None = None) -> Any:
    """The clip, its stream set to decode on ``threads`` frame threads (None: by
    :func:`decoder_threads`; 0: FFmpeg's choice)."""
    import av

    container = av.open(clip_url(index.path), metadata_errors="ignore")
    stream: Any = container.streams[index.stream_index]
    # Frame threading: the decoder works on several frames at once, as ffmpeg does.
    stream.thread_type = "AUTO"
    if threads is None:
        threads = decoder_threads(index.width, index.height)
    if threads:
        stream.codec_context.thread_count = threads
    return container


def _decode_run(container: Any, index: ClipIndex, run: _Run, stats: DecodeStats, *,
                seek: bool) -> Iterator[tuple[int, Any]]:
    stream = container.streams[index.stream_index]
    codec = stream.codec_context
    _, key_pts, key_dts = index.seek_points[run.seek]
    if seek and key_pts is not None:
        stats.seeks += 1
        container.seek(key_dts if key_dts is not None else key_pts, stream=stream,
                       backward=True, any_frame=False)
        codec.flush_buffers()
    started = key_pts is None
    pts_to_index = _pts_index(index)
    by_order = index.decoder_order
    pending = list(run.targets)
    wanted = set(pending)
    last = pending[-1]
    previous = -1
    skipping = ""
    packets = container.demux(stream)
    for packet, final in (_last_marked(packets) if index.truncation else
                          ((packet, False) for packet in packets)):
        if not started:
            if packet.size == 0:
                continue
            ts = packet.pts if packet.pts is not None else packet.dts
            if packet.is_keyframe and ts == key_pts:
                started = True
            elif key_dts is not None and packet.dts is not None and packet.dts > key_dts:
                raise _Overshoot
            else:
                continue
        if packet.size and not by_order:  # in decoder order every frame counts
            # Frames nothing refers to are skipped unless they are wanted.
            ts = packet.pts if packet.pts is not None else packet.dts
            skip = "DEFAULT" if pts_to_index.get(ts, -1) in wanted else "NONREF"
            if skip != skipping:
                codec.skip_frame = skip
                skipping = skip
        # The packet a truncated download stopped in may be cut short (the index leaves
        # it out): it is not fed; the decoder is drained of the frames before it instead.
        cut = bool(packet.size and (packet.is_corrupt or final) and index.truncation)
        for frame in stream.decode(None if cut else packet):
            i = previous + 1 if by_order else _frame_index(frame, pts_to_index, previous)
            if i is None:
                continue
            stats.decoded.append(i)
            previous = i
            if i == pending[0]:
                if frame.is_corrupt:
                    raise damaged(index, i)
                yield i, frame
                pending.pop(0)
                if not pending:
                    return
            elif i > pending[0]:
                break
        if cut or (pending and previous > pending[0]) or previous >= last:
            break
    raise damaged(index, pending[0])


def _last_marked(packets: Iterable[Any]) -> Iterator[tuple[Any, bool]]:
    """The non-empty packets, each with whether it is the last one of the file."""
    held = None
    for packet in packets:
        if packet.size == 0:
            continue
        if held is not None:
            yield held, False
        held = packet
    if held is not None:
        yield held, True


def damaged(index: ClipIndex, frame: int) -> ClipError:
    """The error for a frame the file's data cannot produce."""
    from .timecode import format_clock

    return ClipError(f"{index.file_name} is damaged near frame {frame} "
                     f"({format_clock(index.time_of(frame))}): it cannot be decoded there. "
                     f"Download the clip again, or mark a time outside the damaged part.")


def _pts_index(index: ClipIndex) -> dict[int, int]:
    return {pts: i for i, pts in enumerate(index.frame_pts)}


def _frame_index(frame: Any, pts_to_index: dict[int, int], previous: int) -> int | None:
    if frame.pts is not None:
        return pts_to_index.get(frame.pts)
    return previous + 1 if previous >= 0 else None


def to_rgb(frame: Any, orientation: tuple[str, ...] = (), *, bgr: bool = False,
           aspect: Fraction | None = None, deep: bool = False) -> np.ndarray:
    """Convert a decoded frame to upright RGB the way a player shows it: 8-bit, or with
    ``deep`` (a 10- or 12-bit clip) 16-bit, so the still loses nothing.

    The colour matrix and range come from the frame's tags; an untagged frame
    gets BT.709 when it is HD and BT.601 otherwise, as players assume. Non-square
    pixels (``aspect``) are scaled in width (bicubic, as ffmpeg's scaler); the
    display matrix's turns and flips (``orientation``) are applied as ffmpeg does.
    """
    colorspace = int(frame.colorspace or 2)
    if colorspace in (2, 3):  # AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_RESERVED
        hd = frame.width >= 1280 or frame.height > 576
        colorspace = 1 if hd else 5  # BT.709 : BT.601
    size = ({"width": display_width(frame.width, aspect), "height": frame.height,
             "interpolation": "BICUBIC"} if aspect else {})
    fmt = ("bgr48le" if bgr else "rgb48le") if deep else ("bgr24" if bgr else "rgb24")
    rgb: np.ndarray = frame.reformat(format=fmt,
                                     src_colorspace=colorspace,
                                     src_color_range=int(frame.color_range or 0) or None,
                                     dst_color_range="JPEG", **size).to_ndarray()
    return orient(rgb, orientation)


def orient(pixels: np.ndarray, orientation: tuple[str, ...]) -> np.ndarray:
    """Apply display turns and flips (see ``ClipIndex.orientation``) to an image array."""
    import numpy as np

    for op in orientation:
        if op == "hflip":
            pixels = pixels[:, ::-1]
        elif op == "vflip":
            pixels = pixels[::-1]
        else:
            t = pixels.swapaxes(0, 1)
            pixels = {"cclock_flip": t, "clock": t[:, ::-1], "cclock": t[::-1],
                      "clock_flip": t[::-1, ::-1]}[op]
    return np.ascontiguousarray(pixels) if orientation else pixels


_Y_FORMATS = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12",
              "nv21", "yuv410p", "yuv411p", "yuv440p", "yuvj440p", "gray")


def iter_luma(index: ClipIndex, width: int, *,
              on_progress: Progress | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Every frame, in order, as a small upright 8-bit luma image ``width`` pixels wide.

    For measuring, not for evidence: one sequential decode, no colour conversion
    (the Y plane is read directly where the format allows), and no deblocking filter
    (H.264 and HEVC decode about 12% faster without it; block edges it would smooth are
    far below a pixel of the small image).
    """
    for i, small, _ in iter_luma_sharp(index, width, on_progress=on_progress):
        yield i, small


def iter_luma_sharp(index: ClipIndex, width: int, *, sharp: Callable[[int], bool] | None = None,
                    on_progress: Progress | None = None
                    ) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """As :func:`iter_luma`, with the upright luma before it was shrunk (decimated first
    where the frame is more than twice ``width`` wide and over three times as wide: a 4K
    frame comes 1280 wide for 640) for the frames ``sharp`` asks for, else None: a picture
    boxed in a wide frame is measured from it at its own size (faces.picture)."""
    import av
    import numpy as np

    pts_to_index = _pts_index(index)
    container = _open(index, measure_threads(index.width, index.height))
    stream = container.streams[index.stream_index]
    stream.codec_context.options = {**stream.codec_context.options, "skip_loop_filter": "all"}
    previous = -1
    total = index.frame_count
    step = max(1, total // 50)
    try:
        for frame in _every_frame(container, stream, index):
            i = (previous + 1 if index.decoder_order
                 else _frame_index(frame, pts_to_index, previous))
            if i is None or i >= total:
                continue
            previous = i
            if frame.format.name in _Y_FORMATS:
                plane = frame.planes[0]
                y = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                y = y[: frame.height, : frame.width]
            else:
                y = frame.reformat(format="gray").to_ndarray()
            stride = max(1, y.shape[1] // (2 * width))
            if stride > 1:  # cheap decimation first; INTER_AREA does the rest
                y = y[::stride, ::stride]
            y = orient(y, index.orientation)
            dw, dh = index.display_size
            h = max(1, round(width * dh / dw))
            big = y if sharp is not None and sharp(i) else None
            yield i, shrink(np.ascontiguousarray(y), width, h), big
            if on_progress is not None and i % step == 0:
                on_progress("measure", i + 1, total)
    except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
        interrupted(e)
        raise damaged(index, max(previous, 0)) from e
    finally:
        container.close()


def _every_frame(container: Any, stream: Any, index: ClipIndex) -> Iterator[Any]:
    """Every frame the decoder gives, in order. The packet a truncated download stopped in
    may be cut short (the index leaves it out): it is not fed, as for stills (_decode_run);
    the decoder is drained of the frames before it instead. A damaged packet before it is
    fed as any other (the frames after it are in the index)."""
    if index.truncation is None:
        yield from container.decode(stream)
        return
    for packet, final in _last_marked(container.demux(stream)):
        yield from stream.decode(None if final else packet)


def shrink(y: np.ndarray, width: int, height: int) -> np.ndarray:
    """``y`` resized to ``width`` x ``height`` as OpenCV's INTER_AREA does. Where that is
    a whole odd factor (a 1080p frame to 640 wide: 3), each pixel is the rounded mean of
    its block, and a box filter read every k pixels gives the same pixels at about a third
    of the cost (INTER_AREA has a fast path for a factor of 2 only)."""
    import cv2
    import numpy as np

    k = y.shape[1] // width
    if k >= 3 and k % 2 and y.shape == (k * height, k * width):
        box: np.ndarray = cv2.boxFilter(y, -1, (k, k), anchor=(0, 0))[::k, ::k]
        return np.ascontiguousarray(box)
    area: np.ndarray = cv2.resize(y, (width, height), interpolation=cv2.INTER_AREA)
    return area


def read_ahead(items: Iterator[T], depth: int = 8) -> Generator[T, None, None]:
    """``items``, produced on a thread of their own up to ``depth`` ahead of the reader.

    Decoding and measuring then overlap: the decoder's threads keep working while the
    reader measures the frame before (they stall whenever nobody takes a frame). An
    error in ``items`` is raised to the reader; closing the reader stops the thread and
    closes ``items`` (and so its file) before returning."""
    import queue
    import threading

    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    break
            else:
                put(("end", None))
        except BaseException as e:  # handed to the reader, raised there
            put(("error", e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="ava-read-ahead", daemon=True)
    try:
        thread.start()
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        if thread.ident is not None:
            thread.join()
