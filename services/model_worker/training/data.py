"""A theme's training images: finding them, their captions, square crops, a data hash.

A theme folder holds photos (PNG, JPEG, WebP) and, optionally, a same-name `.txt` caption beside
each. Everything that can be wrong with the folder is found when `ThemeImages` is built, all at
once, so a bad file stops the run before any model is loaded rather than hours into it.

Crops and flips come from a generator seeded by (seed, epoch, index): a run repeats exactly with
the same seed, yet every epoch sees different crops. Images stay numpy (H, W, 3) uint8 RGB, the
worker's own format; torch is not imported here.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
DEFAULT_TEMPLATE = "a mural in the {theme} style"


class DataError(ValueError):
    """The training data cannot be used as given; the message says which file and why."""


def find_images(folder: Path | str) -> list[Path]:
    """The images directly in `folder`, sorted by name (suffixes in any case).

    Hidden files are skipped: macOS leaves `._photo.jpg` resource forks beside copied photos,
    which look like images by name but are not.
    """
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"the image folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder (expected a folder of training images)")
    images = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".")
        if path.suffix.lower() in IMAGE_SUFFIXES
    )
    if not images:
        raise DataError(
            f"no images in {folder}: looked for files ending in {', '.join(IMAGE_SUFFIXES)}"
        )
    return images


def caption_for(
    image_path: Path | str,
    theme: str,
    template: str = DEFAULT_TEMPLATE,
    trigger: str | None = None,
) -> str:
    """The caption an image is trained with.

    The `.txt` beside the image (UTF-8, stripped) when it has any text, else the template with
    the theme filled in; then the trigger words appended as ", <trigger>" unless the caption
    already contains them as whole words, so a hand-written caption that names them is kept.
    """
    text_file = Path(image_path).with_suffix(".txt")
    caption = ""
    if text_file.is_file():
        try:
            caption = text_file.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError as exc:
            raise DataError(f"{text_file}: the caption is not UTF-8 text ({exc.reason})") from exc
    if not caption:
        try:
            caption = template.format(theme=theme).strip()
        except (KeyError, IndexError, ValueError) as exc:
            raise DataError(
                f"caption template {template!r} is not usable: it may only use {{theme}} ({exc})"
            ) from exc
    trigger = (trigger or "").strip()
    if trigger and not re.search(rf"(?<!\w){re.escape(trigger)}(?!\w)", caption, re.IGNORECASE):
        caption = f"{caption}, {trigger}"
    return caption


def check_resolution(resolution: int) -> None:
    """The VAE works on 8×8 pixel blocks: other sizes would be cropped or fail in the UNet."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution <= 0:
        raise DataError(f"the resolution must be a positive whole number, got {resolution!r}")
    if resolution % 8:
        raise DataError(f"the resolution must be a multiple of 8, got {resolution}")


def _open_rgb(path: Path) -> Image.Image:
    """The decoded image, upright (EXIF orientation applied, as phones save photos) and RGB."""
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now: a truncated file fails here, not mid-training
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})") from exc


def _check_size(path: Path, image: Image.Image, resolution: int) -> None:
    width, height = image.size
    if min(width, height) < resolution:
        raise DataError(
            f"{path}: {width}×{height} px is smaller than the training resolution "
            f"{resolution}×{resolution} px on its short side; use a larger image or a lower "
            "--resolution (images are not upscaled: that would teach the theme blur)"
        )


def prepare_image(
    path: Path | str,
    resolution: int,
    *,
    flip: bool,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """A resolution×resolution RGB uint8 crop of the image.

    Short side resized to `resolution` (Lanczos), then a centre crop when `rng` is None
    (deterministic, for cached latents and validation), else a crop at a random offset;
    with `flip`, mirrored left-right with probability 0.5 (only with an rng).
    """
    check_resolution(resolution)
    path = Path(path)
    image = _open_rgb(path)
    _check_size(path, image, resolution)
    width, height = image.size
    scale = resolution / min(width, height)
    size = (max(resolution, round(width * scale)), max(resolution, round(height * scale)))
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    pixels = np.asarray(image)
    spare_y, spare_x = pixels.shape[0] - resolution, pixels.shape[1] - resolution
    if rng is None:
        top, left = spare_y // 2, spare_x // 2
    else:
        top, left = int(rng.integers(0, spare_y + 1)), int(rng.integers(0, spare_x + 1))
    crop = pixels[top : top + resolution, left : left + resolution]
    if flip and rng is not None and rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


@dataclass
class ThemeSample:
    image: np.ndarray  # (resolution, resolution, 3) uint8 RGB
    caption: str
    path: Path


class ThemeImages:
    """A theme folder as a map-style dataset (`len`, `[i]`), usable by a torch DataLoader.

    Every image and caption is checked once here; all problems are reported in one DataError.
    Call `set_epoch(epoch)` before each epoch: samples depend only on (seed, epoch, index).
    DataLoader workers copy the dataset when an epoch's iteration starts, so this holds with
    `num_workers > 0` too, as long as workers are not persistent.
    """

    def __init__(
        self,
        folder: Path | str,
        theme: str,
        resolution: int,
        template: str = DEFAULT_TEMPLATE,
        trigger: str | None = None,
        flip: bool = False,
        seed: int = 0,
    ):
        check_resolution(resolution)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise DataError(f"the seed must be a whole number >= 0, got {seed!r}")
        self.folder = Path(folder)
        self.theme = theme
        self.resolution = resolution
        self.flip = flip
        self.seed = seed
        self.epoch = 0
        self.paths = find_images(self.folder)
        self.captions: list[str] = []
        problems: list[str] = []
        for path in self.paths:
            try:
                _check_size(path, _open_rgb(path), resolution)
                self.captions.append(caption_for(path, theme, template, trigger))
            except DataError as exc:
                problems.append(str(exc))
        if problems:
            raise DataError(
                f"{len(problems)} of the {len(self.paths)} images in {self.folder} cannot be "
                "used:\n" + "\n".join(f"  - {problem}" for problem in problems)
            )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> ThemeSample:
        index = range(len(self.paths))[index]  # negative indexes, IndexError past the end
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image = prepare_image(self.paths[index], self.resolution, flip=self.flip, rng=rng)
        return ThemeSample(image=image, caption=self.captions[index], path=self.paths[index])

    def data_hash(self) -> str:
        return data_hash(self.folder, self.paths, self.captions)


def data_hash(folder: Path | str, images: Sequence[Path | str], captions: Sequence[str]) -> str:
    """sha256 hex of what was trained on: each image's name relative to `folder` (in sorted
    order), its bytes and its caption. Recorded in training.json so a LoRA can be traced to
    its data: the same data always gives the same hash, any changed byte or caption changes it.
    Every field is length-prefixed, so moving bytes from one field to the next changes it too.
    """
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    folder = Path(folder)
    entries = sorted(
        (*_relative_to(folder, image), caption)
        for image, caption in zip(images, captions, strict=True)
    )
    digest = hashlib.sha256()

    def field(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    for name, path, caption in entries:
        field(name.encode("utf-8"))
        field(path.read_bytes())
        field(caption.encode("utf-8"))
    return digest.hexdigest()


def _relative_to(folder: Path, image: Path | str) -> tuple[str, Path]:
    """(the image's name relative to the folder, where to read it), for a path either inside
    the folder (as `find_images` gives) or relative to it."""
    image = Path(image)
    for base, path in ((folder, image), (folder.resolve(), image.resolve())):
        try:
            return path.relative_to(base).as_posix(), path
        except ValueError:
            continue
    return image.as_posix(), folder / image
