"""GPU smoke run: load each real pipeline once and time one image with it.

    python services/model_worker/scripts/gpu_smoke.py [--only mural|sketch|sam] [--steps N]
                                                      [--size PX] [--theme T] [--out DIR]

Not a test and not run in CI: run it by hand on a machine with the weights (`make
download-models`), usually with a GPU. It reads the worker's own settings from the environment
(MODEL_DIR, INPAINT_MODEL, LORA_DIR, SDXL_MODEL, SDXL_VAE, SKETCH_ADAPTER, SAM_MODEL_TYPE,
SAM_CHECKPOINT, DEVICE, ATTENTION_SLICING, CPU_OFFLOAD, MURAL_MAX_SIDE, SKETCH_SIZE) and loads
through the worker's ModelManager, exactly as a worker process does; a pipeline whose files are
missing is skipped with a line saying so.

In order, each loaded, run once and released before the next (so each peak is its own):
- sam: encode the photo and take SAM's mask for a box in the middle of it;
- mural: the `ocean` theme (its LoRA), 30 steps, on SAM's wall mask (on the box itself when
  SAM was not run or found nothing), composited at the photo's full size;
- sketch: a drawn doodle at SKETCH_SIZE (1024 by default), 25 steps;
- train: a short theme LoRA training run (saekdam_training, 10 steps by default, fp16 on a
  GPU) on crops of the photo, into a temporary folder: its steps/s and peak memory are what a
  full run needs (README, "Theme training").

Printed per pipeline: load time, time per image, steps/s and peak GPU memory
(torch.cuda.max_memory_allocated, reset before the load and again before the run). The photo
is scikit-image's brick wall, tiled to 4:3 (a synthetic one without scikit-image). Exit status
1 if a pipeline that was present failed, else 0.
"""

import argparse
import gc
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

PIPELINES = ("sam", "mural", "sketch", "train")
# The middle of the photo, normalised (x0, y0, x1, y1): where the "wall" is assumed to be.
WALL_BOX = (0.2, 0.15, 0.8, 0.85)
PHOTO_LONG_SIDE = 1024
# Where ModelManager keeps each loaded pipeline (cached properties).
MANAGER_ATTRIBUTES = {
    "sam": "wall_segmenter",
    "mural": "mural_painter",
    "sketch": "sketch_painter",
    "train": "",  # training loads its own copy of the inpainting model
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="gpu_smoke.py",
        description="Load each real GPU pipeline once (when its weights are present), run it "
        "once on a real photo and print load time, time per image, steps/s and peak GPU "
        "memory. Model locations and the device come from the worker's env settings "
        "(MODEL_DIR, INPAINT_MODEL, LORA_DIR, SDXL_MODEL, SDXL_VAE, SKETCH_ADAPTER, "
        "SAM_MODEL_TYPE, SAM_CHECKPOINT, DEVICE, ATTENTION_SLICING, CPU_OFFLOAD, ...).",
    )
    parser.add_argument(
        "--only",
        choices=PIPELINES,
        action="append",
        help="run only this pipeline; repeat the flag for several (default: all three, in the "
        "order sam, mural, sketch)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="denoising steps for mural and sketch (default: the jobs' defaults, 30 for mural "
        "and 25 for sketch)",
    )
    parser.add_argument(
        "--size",
        type=int,
        help="working size in pixels: the mural's long-side cap and the sketch's square side "
        "(default: MURAL_MAX_SIDE, 768, and SKETCH_SIZE, 1024, from the env); the photo is "
        f"made at least this large ({PHOTO_LONG_SIDE} px long side by default)",
    )
    parser.add_argument(
        "--theme",
        default="ocean",
        help="mural theme (default ocean); without its LoRA in LORA_DIR the mural is painted "
        "as `custom` and the line says so",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="images per pipeline (default 1); with more, the first (warm-up) is reported "
        "apart and time per image is the median of the others",
    )
    parser.add_argument(
        "--train_steps",
        type=int,
        default=10,
        help="optimizer steps of the training run (default 10)",
    )
    parser.add_argument(
        "--train_resolution",
        type=int,
        default=512,
        help="the training run's image size (default 512, SD 1.5's)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for every image (default 0)")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder to save the results in (mask.png, mural.jpg, sketch.png) for a look",
    )
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error("--steps has to be at least 1")
    if args.runs < 1:
        parser.error("--runs has to be at least 1")
    if args.train_steps < 1 or args.train_resolution < 64 or args.train_resolution % 8:
        parser.error("--train_steps has to be at least 1, --train_resolution a multiple of 8")
    if args.size is not None and not 64 <= args.size <= 2048:
        parser.error("--size has to be within 64..2048 (the settings' bounds)")
    return args


# -- inputs ------------------------------------------------------------------------------


def wall_photo(long_side: int = PHOTO_LONG_SIDE) -> tuple[np.ndarray, str]:
    """A 4:3 RGB photo of a brick wall, and where it came from."""
    height = long_side * 3 // 4
    try:
        from skimage import data

        brick = data.brick()  # 512x512 grey, a real photo
        source = "skimage.data.brick()"
    except ImportError:
        brick = _synthetic_brick()
        source = "synthetic bricks (scikit-image is not installed)"
    reps = (math.ceil(height / brick.shape[0]), math.ceil(long_side / brick.shape[1]))
    grey = np.tile(brick, reps)[:height, :long_side]
    # A warm tint, so the photo has colour the way a real wall does.
    rgb = np.dstack([grey, grey * 0.85, grey * 0.7]).clip(0, 255).astype(np.uint8)
    return rgb, f"{source}, tiled to {long_side}x{height}"


def _synthetic_brick() -> np.ndarray:
    rng = np.random.default_rng(0)
    wall = np.full((512, 512), 150, np.uint8)
    for row, y in enumerate(range(0, 512, 32)):
        cv2.line(wall, (0, y), (511, y), 90, 3)
        for x in range((row % 2) * 32, 512, 64):
            cv2.line(wall, (x, y), (x, y + 32), 90, 3)
    noise = rng.normal(0, 12, wall.shape)
    return np.clip(wall + noise, 0, 255).astype(np.uint8)


def doodle(side: int = 768) -> np.ndarray:
    """A house, a tree and a sun in black strokes on white paper (RGB)."""
    canvas = np.full((side, side, 3), 255, np.uint8)
    s = side / 256
    black, width = (0, 0, 0), max(2, round(3 * s))

    def p(x: float, y: float) -> tuple[int, int]:
        return round(x * s), round(y * s)

    cv2.rectangle(canvas, p(40, 120), p(150, 220), black, width)  # house
    cv2.line(canvas, p(30, 125), p(95, 60), black, width)  # roof
    cv2.line(canvas, p(95, 60), p(160, 125), black, width)
    cv2.rectangle(canvas, p(80, 165), p(110, 220), black, width)  # door
    cv2.rectangle(canvas, p(55, 135), p(75, 155), black, width)  # window
    cv2.line(canvas, p(205, 220), p(205, 150), black, width)  # tree
    cv2.circle(canvas, p(205, 125), round(30 * s), black, width)
    cv2.circle(canvas, p(210, 40), round(18 * s), black, width)  # sun
    return canvas


def box_pixels(width: int, height: int) -> np.ndarray:
    x0, y0, x1, y1 = WALL_BOX
    return np.array([x0 * width, y0 * height, x1 * width, y1 * height], dtype=np.float32)


def box_mask(width: int, height: int) -> np.ndarray:
    x0, y0, x1, y1 = (round(v) for v in box_pixels(width, height))
    mask = np.zeros((height, width), bool)
    mask[y0:y1, x0:x1] = True
    return mask


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Measurement:
    name: str
    load_s: float = 0.0
    load_peak: int | None = None
    run_s: list[float] = field(default_factory=list)
    run_peak: int | None = None
    steps: int | None = None
    detail: str = ""


class Gpu:
    """Peak memory on CUDA; nothing to measure elsewhere."""

    def __init__(self, device):
        import torch

        self.torch = torch
        self.device = device
        self.cuda = device.type == "cuda"

    def reset(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize(self.device)
            self.torch.cuda.reset_peak_memory_stats(self.device)

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize(self.device)

    def peak(self) -> int | None:
        return self.torch.cuda.max_memory_allocated(self.device) if self.cuda else None

    def release(self) -> None:
        gc.collect()
        if self.cuda:
            self.torch.cuda.empty_cache()

    def describe(self, value: int | None) -> str:
        if value is None:
            return f"n/a ({self.device.type})"
        return f"{value / 2**30:.2f} GiB"


def timed_load(gpu: Gpu, m: Measurement, load: Callable[[], object]):
    gpu.reset()
    began = time.perf_counter()
    loaded = load()
    gpu.sync()
    m.load_s = time.perf_counter() - began
    m.load_peak = gpu.peak()
    return loaded


def timed_runs(gpu: Gpu, m: Measurement, runs: int, run: Callable[[], object]):
    """Run `runs` times; the run peak is over all of them. Returns the last result."""
    gpu.reset()
    result = None
    for _ in range(runs):
        began = time.perf_counter()
        result = run()
        gpu.sync()
        m.run_s.append(time.perf_counter() - began)
    m.run_peak = gpu.peak()
    return result


def report_line(gpu: Gpu, m: Measurement) -> str:
    measured = m.run_s[1:] or m.run_s
    per_image = statistics.median(measured)
    timing = f"{per_image:.2f} s/image"
    if len(m.run_s) > 1:
        timing += f" (median of {len(measured)}; first {m.run_s[0]:.2f} s)"
    rate = f"{m.steps / per_image:.2f} steps/s ({m.steps} steps)" if m.steps else "steps/s n/a"
    memory = f"peak GPU memory {gpu.describe(m.run_peak)}"
    if gpu.cuda:
        memory += f" (while loading {gpu.describe(m.load_peak)})"
    detail = f" | {m.detail}" if m.detail else ""
    return f"{m.name:<6}  load {m.load_s:.2f} s | {timing} | {rate} | {memory}{detail}"


# -- the pipelines -----------------------------------------------------------------------


def run_sam(manager, gpu: Gpu, photo: np.ndarray, args) -> tuple[Measurement, np.ndarray | None]:
    from saekdam_worker.pipelines.wall_mask import NoWallFound

    m = Measurement("sam")
    segmenter = timed_load(gpu, m, lambda: manager.wall_segmenter)
    height, width = photo.shape[:2]
    box = box_pixels(width, height)
    outcome: dict = {}

    def once():
        segmenter.set_image(photo)
        try:
            outcome["mask"] = segmenter.from_box(box)
        except NoWallFound as error:
            outcome["mask"] = None
            outcome["why"] = error.reason

    timed_runs(gpu, m, args.runs, once)
    mask = outcome["mask"]
    if mask is None:
        m.detail = f"box mask: nothing found ({outcome['why']}); the mural uses the box itself"
    else:
        m.detail = f"box mask covers {mask.mean():.0%} of the {width}x{height} photo"
        if args.out:
            cv2.imwrite(str(args.out / "mask.png"), mask.astype(np.uint8) * 255)
    return m, mask


def run_mural(manager, gpu: Gpu, photo: np.ndarray, wall: np.ndarray, wall_source: str, args):
    from saekdam_worker.pipelines.mural import MuralRequest, working_size
    from saekdam_worker.pipelines.wall_mask import wall_alpha

    m = Measurement("mural")
    painter = timed_load(gpu, m, lambda: manager.mural_painter)
    theme, note = args.theme, ""
    if theme not in painter.themes:
        note = f"no LoRA for {theme!r} in LORA_DIR, painted as custom; "
        theme = "custom"
    alpha = wall_alpha(wall)  # as the mural job prepares the mask
    request = MuralRequest(image=photo, alpha=alpha, theme=theme, seed=args.seed)
    if args.steps is not None:
        request.steps = args.steps
    steps_done: list[int] = []

    def once():
        steps_done.clear()
        return painter.paint(request, on_step=lambda step, total: steps_done.append(step))

    result = timed_runs(gpu, m, args.runs, once)
    m.steps = len(steps_done)
    height, width = photo.shape[:2]
    work_w, work_h = working_size(width, height, painter.max_side)
    m.detail = (
        f"{note}theme {theme}, {wall_source}, diffusion at {work_w}x{work_h}, "
        f"composited at {width}x{height}"
    )
    if args.out:
        cv2.imwrite(str(args.out / "mural.jpg"), cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR))
    return m


def run_sketch(manager, gpu: Gpu, args) -> Measurement:
    from saekdam_worker.pipelines.sketch import SketchRequest

    m = Measurement("sketch")
    painter = timed_load(gpu, m, lambda: manager.sketch_painter)
    request = SketchRequest(image=doodle(), seed=args.seed)
    if args.steps is not None:
        request.steps = args.steps
    steps_done: list[int] = []

    def once():
        steps_done.clear()
        return painter.paint(request, on_step=lambda step, total: steps_done.append(step))

    result = timed_runs(gpu, m, args.runs, once)
    m.steps = len(steps_done)
    m.detail = f"style {request.style}, {painter.size}x{painter.size}"
    if args.out:
        cv2.imwrite(str(args.out / "sketch.png"), cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR))
    return m


def run_training(manager, gpu: Gpu, photo: np.ndarray, args) -> Measurement:
    """A few steps of `saekdam_training` on crops of the photo, as `make train` runs it."""
    import json
    import tempfile

    from saekdam_training.train_theme_lora import main as train
    from saekdam_training.train_theme_lora import parse_args as training_args
    from saekdam_worker.models.loading import sam_checkpoint_path

    m = Measurement("train")
    settings = manager.settings
    side = args.train_resolution
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "photos", Path(tmp) / "adapter"
        data.mkdir()
        height, width = photo.shape[:2]
        crop = min(height, width)
        for i, x in enumerate(np.linspace(0, width - crop, 4).astype(int)):
            tile = cv2.resize(
                photo[:crop, x : x + crop], (side, side), interpolation=cv2.INTER_AREA
            )
            cv2.imwrite(str(data / f"wall-{i}.png"), cv2.cvtColor(tile, cv2.COLOR_RGB2BGR))
        argv = [
            "--theme", args.theme if args.theme != "custom" else "ocean",
            "--data_dir", str(data),
            "--output_dir", str(out),
            "--pretrained_model", settings.inpaint_model,
            "--model_dir", settings.model_dir,
            "--sam_checkpoint", str(sam_checkpoint_path(settings)),
            "--resolution", str(side),
            "--max_train_steps", str(args.train_steps),
            "--checkpointing_steps", str(args.train_steps),
            "--lr_warmup_steps", "0",
            "--seed", str(args.seed),
        ]  # fmt: skip
        # SAM's automatic walls take minutes an image on a CPU: rectangles and strokes there.
        mix = "0.6,0.2,0.2" if gpu.cuda else "0,1,1"
        argv += ["--mask_mix", mix]
        argv += ["--mixed_precision", "fp16"] if gpu.cuda else ["--cpu"]
        gpu.reset()
        began = time.perf_counter()
        if train(training_args(argv)) != 0:
            raise RuntimeError("the training run failed (its log is above)")
        gpu.sync()
        total = time.perf_counter() - began
        record = json.loads((out / "training.json").read_text())
    m.run_s = [record["seconds"]]  # the training loop
    m.load_s = total - record["seconds"]  # loading, masks and saving
    m.run_peak = gpu.peak()
    m.steps = record["steps"]
    m.detail = (
        f"{side}x{side}, batch 1, {record['mixed_precision']}, masks {mix} (wall, rect, "
        f"stroke), final loss {record['final_loss']:.4f}"
    )
    return m


def release(manager, name: str, gpu: Gpu) -> None:
    """Drop a loaded pipeline (a cached_property) so the next one's peak is its own."""
    if name:
        manager.__dict__.pop(name, None)
    gpu.release()


# -- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pydantic import ValidationError

    from saekdam_worker.models.loading import ModelUnavailable, dtype_for, sam_checkpoint_path
    from saekdam_worker.models.manager import ModelManager, source_present
    from saekdam_worker.models.settings import ModelSettings

    overrides = {"mural_max_side": args.size, "sketch_size": args.size} if args.size else {}
    try:
        settings = ModelSettings(**overrides)
    except ValidationError as error:
        print(f"bad model settings: {error}", file=sys.stderr)
        return 2
    manager = ModelManager(settings)
    wanted = [name for name in PIPELINES if not args.only or name in args.only]
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)

    import diffusers
    import torch

    try:
        device = manager.device
    except ModelUnavailable as error:  # e.g. DEVICE=cuda on a machine without CUDA
        print(f"no device: {error.message}")
        return 1
    gpu = Gpu(device)
    gpu_name = torch.cuda.get_device_name(device) if gpu.cuda else device.type
    print(
        f"gpu smoke: {gpu_name}, {dtype_for(device)}, torch {torch.__version__}, diffusers "
        f"{diffusers.__version__}, Python {platform.python_version()}; attention slicing "
        f"{settings.attention_slicing}, cpu offload {settings.cpu_offload}"
    )
    photo, photo_source = wall_photo(max(PHOTO_LONG_SIDE, args.size or 0))
    print(f"photo: {photo_source}; wall box {WALL_BOX} (x0, y0, x1, y1, normalised)")

    # What the worker's capability check looks at, without loading anything.
    sketch_sources = {
        "SDXL_MODEL": settings.sdxl_model,
        "SDXL_VAE": settings.sdxl_vae,
        "SKETCH_ADAPTER": settings.sketch_adapter,
    }
    missing_sketch = [
        f"{env} {source}"
        for env, source in sketch_sources.items()
        if not source_present(source, settings)
    ]
    present = {
        "sam": sam_checkpoint_path(settings).is_file(),
        "mural": source_present(settings.inpaint_model, settings),
        "sketch": not missing_sketch,
        "train": source_present(settings.inpaint_model, settings),
    }
    sources = {
        "sam": f"no checkpoint file at {sam_checkpoint_path(settings)}",
        "mural": f"INPAINT_MODEL {settings.inpaint_model} is neither a folder nor in "
        f"MODEL_DIR {settings.model_dir}",
        "sketch": f"{', '.join(missing_sketch)}: neither a folder nor in MODEL_DIR "
        f"{settings.model_dir}",
        "train": f"INPAINT_MODEL {settings.inpaint_model} is not here",
    }
    failed = False
    sam_mask = None
    for name in wanted:
        if not present[name]:
            print(f"{name:<6}  skipped: {sources[name]} (make download-models fetches it)")
            continue
        try:
            if name == "sam":
                m, sam_mask = run_sam(manager, gpu, photo, args)
            elif name == "mural":
                height, width = photo.shape[:2]
                if sam_mask is not None:
                    wall, wall_source = sam_mask, "on the SAM mask"
                else:
                    wall, wall_source = box_mask(width, height), "on the box (no SAM mask)"
                m = run_mural(manager, gpu, photo, wall, wall_source, args)
            elif name == "sketch":
                m = run_sketch(manager, gpu, args)
            else:
                m = run_training(manager, gpu, photo, args)
        except ModelUnavailable as error:
            failed = True
            print(f"{name:<6}  FAILED to load: {error.message}")
            continue
        except Exception as error:  # noqa: BLE001 - report every pipeline, then exit 1
            failed = True
            print(f"{name:<6}  FAILED: {type(error).__name__}: {error}")
            continue
        finally:
            release(manager, MANAGER_ATTRIBUTES[name], gpu)
        print(report_line(gpu, m), flush=True)
    if args.out:
        print(f"images saved in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
