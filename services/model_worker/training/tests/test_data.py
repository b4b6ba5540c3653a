"""Theme training data: finding images, captions, validation of the whole folder up front,
square crops that repeat per (seed, epoch), flips, and the data hash in training.json."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from saekdam_training.data import (
    DEFAULT_TEMPLATE,
    IMAGE_SUFFIXES,
    DataError,
    ThemeImages,
    ThemeSample,
    caption_for,
    data_hash,
    find_images,
    prepare_image,
)


def save(array: np.ndarray, path: Path, **options) -> Path:
    Image.fromarray(array).save(path, **options)
    return path


def resized(array: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(array).resize((width, height), Image.Resampling.LANCZOS))


@pytest.fixture
def theme_folder(tmp_path) -> Path:
    """Three real photos, non-square so crops have room to move, one with a caption."""
    folder = tmp_path / "ocean"
    folder.mkdir()
    save(resized(data.astronaut(), 96, 64), folder / "a_astronaut.png")
    save(resized(data.coffee(), 72, 108), folder / "b_coffee.jpg", quality=95)
    save(resized(np.stack([data.brick()] * 3, axis=-1), 160, 80), folder / "c_brick.webp")
    (folder / "b_coffee.txt").write_text("  a cup of coffee, painted  \n", encoding="utf-8")
    return folder


# -- finding images --------------------------------------------------------------------------


def test_find_images_lists_images_sorted_in_any_suffix_case_and_skips_the_rest(tmp_path):
    pixels = resized(data.astronaut(), 16, 16)
    for name in ["b.JPG", "a.png", "c.webp", "d.jpeg"]:
        save(pixels, tmp_path / name)
    (tmp_path / "a.txt").write_text("caption")
    (tmp_path / "notes.md").write_text("not an image")
    (tmp_path / "._a.png").write_bytes(b"macOS resource fork")
    (tmp_path / "nested.png").mkdir()
    assert [p.name for p in find_images(tmp_path)] == ["a.png", "b.JPG", "c.webp", "d.jpeg"]


def test_a_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        find_images(tmp_path / "absent")


def test_a_file_instead_of_a_folder_is_a_data_error(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"")
    with pytest.raises(DataError, match="not a folder"):
        find_images(tmp_path / "photo.png")


def test_a_folder_without_images_says_which_suffixes_were_looked_for(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="no images") as caught:
        find_images(tmp_path)
    for suffix in IMAGE_SUFFIXES:
        assert suffix in str(caught.value)


# -- captions ----------------------------------------------------------------------------------


def test_caption_comes_from_the_text_file_beside_the_image(theme_folder):
    assert caption_for(theme_folder / "b_coffee.jpg", "ocean") == "a cup of coffee, painted"


def test_caption_falls_back_to_the_template_with_the_theme(theme_folder):
    image = theme_folder / "a_astronaut.png"
    assert caption_for(image, "ocean") == DEFAULT_TEMPLATE.format(theme="ocean")
    assert caption_for(image, "ocean") == "a mural in the ocean style"
    assert caption_for(image, "ocean", template="{theme} wall art") == "ocean wall art"


def test_an_empty_or_blank_text_file_counts_as_no_caption(theme_folder):
    (theme_folder / "a_astronaut.txt").write_text(" \n\t\n", encoding="utf-8")
    assert caption_for(theme_folder / "a_astronaut.png", "ocean") == "a mural in the ocean style"


def test_the_trigger_is_appended_once(theme_folder):
    image = theme_folder / "a_astronaut.png"
    assert caption_for(image, "ocean", trigger="sdmural") == "a mural in the ocean style, sdmural"
    (theme_folder / "a_astronaut.txt").write_text("an SDMural of waves", encoding="utf-8")
    assert caption_for(image, "ocean", trigger="sdmural") == "an SDMural of waves"
    # A word merely containing the trigger does not count as having it.
    (theme_folder / "a_astronaut.txt").write_text("xsdmurals of waves", encoding="utf-8")
    assert caption_for(image, "ocean", trigger="sdmural") == "xsdmurals of waves, sdmural"
    assert caption_for(image, "ocean", trigger="  ") == "xsdmurals of waves"


def test_captions_are_read_as_utf8_and_other_bytes_are_a_data_error(theme_folder):
    (theme_folder / "a_astronaut.txt").write_text("바다 벽화", encoding="utf-8")
    assert caption_for(theme_folder / "a_astronaut.png", "ocean") == "바다 벽화"
    (theme_folder / "a_astronaut.txt").write_bytes("바다".encode("cp949"))
    with pytest.raises(DataError, match="a_astronaut.txt.*UTF-8"):
        caption_for(theme_folder / "a_astronaut.png", "ocean")


def test_a_template_with_unknown_placeholders_is_a_data_error(theme_folder):
    with pytest.raises(DataError, match=r"only use \{theme\}"):
        caption_for(theme_folder / "a_astronaut.png", "ocean", template="{style} mural")


# -- validation of the whole folder ------------------------------------------------------------


def test_every_bad_file_is_named_in_one_error_before_training(theme_folder):
    (theme_folder / "d_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    truncated = (theme_folder / "b_coffee.jpg").read_bytes()
    (theme_folder / "e_truncated.jpg").write_bytes(truncated[: len(truncated) // 2])
    save(resized(data.astronaut(), 40, 50), theme_folder / "f_small.png")
    with pytest.raises(DataError) as caught:
        ThemeImages(theme_folder, "ocean", resolution=64)
    message = str(caught.value)
    assert "3 of the 6 images" in message
    assert "d_broken.png" in message and "e_truncated.jpg" in message
    assert "f_small.png" in message and "40×50" in message and "64×64" in message
    for good in ["a_astronaut.png", "b_coffee.jpg", "c_brick.webp"]:
        assert good not in message


def test_an_image_smaller_than_the_resolution_is_refused_not_upscaled(theme_folder):
    path = theme_folder / "a_astronaut.png"  # 96×64
    with pytest.raises(DataError, match=r"a_astronaut.png: 96×64 px .* 72×72"):
        prepare_image(path, 72, flip=False, rng=None)


def test_an_unreadable_image_is_a_data_error_naming_it(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="empty.jpg: not a readable image"):
        prepare_image(path, 64, flip=False, rng=None)


@pytest.mark.parametrize("resolution", [60, 0, -64, 64.0])
def test_the_resolution_must_be_a_positive_multiple_of_8(theme_folder, resolution):
    with pytest.raises(DataError, match="resolution"):
        prepare_image(theme_folder / "a_astronaut.png", resolution, flip=False, rng=None)
    with pytest.raises(DataError, match="resolution"):
        ThemeImages(theme_folder, "ocean", resolution=resolution)


# -- crops and flips ---------------------------------------------------------------------------


def test_the_short_side_is_resized_to_the_resolution_then_centre_cropped(tmp_path):
    photo = data.astronaut()[:, 96:416]  # 320 wide, 512 high
    path = save(photo, tmp_path / "tall.png")
    crop = prepare_image(path, 64, flip=False, rng=None)
    expected = resized(photo, 64, 102)[19:83]  # 512 * 64 / 320 = 102.4 rows; centre 64 of them
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    assert np.array_equal(crop, expected)


def test_the_exif_orientation_is_applied(tmp_path):
    stored = resized(data.astronaut(), 128, 64)  # landscape pixels, shown rotated to portrait
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", what phones write
    path = save(stored, tmp_path / "phone.png", exif=exif)
    crop = prepare_image(path, 64, flip=False, rng=None)
    assert np.array_equal(crop, np.rot90(stored, k=-1)[32:96])


def test_random_crops_are_square_and_repeat_for_the_same_seed_and_epoch(theme_folder):
    first = ThemeImages(theme_folder, "ocean", resolution=64, flip=True, seed=7)
    again = ThemeImages(theme_folder, "ocean", resolution=64, flip=True, seed=7)
    for epoch in range(3):
        first.set_epoch(epoch)
        again.set_epoch(epoch)
        for index in range(len(first)):
            sample = first[index]
            assert sample.image.shape == (64, 64, 3) and sample.image.dtype == np.uint8
            assert np.array_equal(sample.image, again[index].image)


def test_crops_differ_between_epochs_and_seeds(theme_folder):
    def crops(seed: int, epoch: int) -> list[np.ndarray]:
        images = ThemeImages(theme_folder, "ocean", resolution=64, seed=seed)
        images.set_epoch(epoch)
        return [images[i].image for i in range(len(images))]

    def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
        return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))

    assert same(crops(0, 0), crops(0, 0))
    assert not same(crops(0, 0), crops(0, 1))
    assert not same(crops(0, 0), crops(1, 0))


def test_flip_mirrors_about_half_the_crops_and_only_when_asked(tmp_path):
    path = save(resized(data.astronaut(), 64, 64), tmp_path / "square.png")
    upright = prepare_image(path, 64, flip=False, rng=None)
    mirrored = upright[:, ::-1]
    flips = 0
    for seed in range(40):
        crop = prepare_image(path, 64, flip=True, rng=np.random.default_rng(seed))
        assert np.array_equal(crop, upright) or np.array_equal(crop, mirrored)
        flips += np.array_equal(crop, mirrored)
        unflipped = prepare_image(path, 64, flip=False, rng=np.random.default_rng(seed))
        assert np.array_equal(unflipped, upright)
    assert 10 <= flips <= 30
    assert np.array_equal(prepare_image(path, 64, flip=True, rng=None), upright)


def test_samples_carry_their_caption_and_path(theme_folder):
    images = ThemeImages(theme_folder, "ocean", resolution=64, trigger="sdmural")
    assert len(images) == 3
    sample = images[1]
    assert isinstance(sample, ThemeSample)
    assert sample.path == theme_folder / "b_coffee.jpg"
    assert sample.caption == "a cup of coffee, painted, sdmural"
    assert images[0].caption == "a mural in the ocean style, sdmural"
    assert images[-1].path.name == "c_brick.webp"
    with pytest.raises(IndexError):
        images[3]


# -- data hash -----------------------------------------------------------------------------------


def test_the_data_hash_is_the_same_for_the_same_data_wherever_it_lies(theme_folder, tmp_path):
    images = ThemeImages(theme_folder, "ocean", resolution=64)
    digest = images.data_hash()
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == data_hash(theme_folder, images.paths, images.captions)
    # Given in another order or relative to the folder: the same.
    names = [p.name for p in reversed(images.paths)]
    assert data_hash(theme_folder, names, list(reversed(images.captions))) == digest
    copy = shutil.copytree(theme_folder, tmp_path / "copy")
    assert ThemeImages(copy, "ocean", resolution=64).data_hash() == digest


def test_the_data_hash_changes_with_any_byte_caption_or_name(theme_folder):
    images = ThemeImages(theme_folder, "ocean", resolution=64)
    digest = images.data_hash()
    captions = list(images.captions)
    captions[0] += "!"
    assert data_hash(theme_folder, images.paths, captions) != digest

    path = theme_folder / "c_brick.webp"
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    assert data_hash(theme_folder, images.paths, images.captions) != digest
    path.write_bytes(original)
    assert data_hash(theme_folder, images.paths, images.captions) == digest

    path.rename(theme_folder / "d_brick.webp")
    assert ThemeImages(theme_folder, "ocean", resolution=64).data_hash() != digest
