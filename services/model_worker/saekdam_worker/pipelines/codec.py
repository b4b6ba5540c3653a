"""Bytes <-> BGR uint8 arrays, the only image format the pipelines deal in."""

import cv2
import numpy as np


def decode_image(data: bytes) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, WebP, ...) to an HxWx3 uint8 BGR array."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
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
