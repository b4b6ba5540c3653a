"""Bytes <-> BGR uint8 arrays, the only image format the pipelines deal in."""

import cv2
import numpy as np


def decode_image(data: bytes) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, WebP, ...) to an HxWx3 uint8 BGR array."""
    return _decode(data, cv2.IMREAD_COLOR)


def decode_rgba(data: bytes) -> np.ndarray:
    """Decode keeping transparency: HxWx4 uint8 RGBA (opaque images get alpha 255).

    Doodles drawn on a transparent canvas are black strokes on alpha 0; flattening them
    without their alpha would give an all-black picture."""
    image = _decode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYCOLOR)
    if image.dtype != np.uint8:  # 16-bit PNG
        image = (image / 257).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGBA)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)


def _decode(data: bytes, flags: int) -> np.ndarray:
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, flags) if buffer.size else None
    if image is None:
        raise ValueError("data is not a decodable image")
    return image


def encode_png(image: np.ndarray) -> bytes:
    return _encode(".png", image, [])


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    return _encode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])


def _encode(extension: str, image: np.ndarray, flags: list[int]) -> bytes:
    ok, encoded = cv2.imencode(extension, image, flags)
    if not ok:
        raise ValueError(f"could not encode a {image.shape} {image.dtype} image as {extension}")
    return encoded.tobytes()
