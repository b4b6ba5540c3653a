"""Live preview cost per denoising step, on the tiny inpainting pipeline (CPU), in process.

The same mural painted with previews off and with a preview at every step (the worst case:
a real watcher gets one per `every_s`, at least 0.25 s): the step time is the time between
consecutive step callbacks, so it includes making the preview (latents -> RGB by the linear
projection, pasted on the photo's wall at `MAX_SIDE`, JPEG under 32 kB, base64, the frame's
JSON) but not publishing it, which the worker does on its event loop. Paints alternate off/on
so a change in the machine's load hits both; torch runs on one thread.

Run alone: `.venv/bin/python -m bench.preview_cost [--paints N] [--steps N]`.
"""

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import mural_overhead

MAX_SIDE = 256
PAINTS, STEPS, WARMUP = 10, 20, 2


class EncodingSink:
    """Wants a preview at every step and does all the worker's job thread would with it."""

    def __init__(self, max_side: int):
        self.max_side = max_side
        self.bytes: list[int] = []

    def wanted(self) -> int:
        return self.max_side

    def show(self, step: int, total: int, image: np.ndarray) -> None:
        from saekdam_contracts.previews import MAX_PREVIEW_BYTES, PreviewFrame
        from saekdam_worker.pipelines.previews import encode_preview

        data, width, height = encode_preview(image, MAX_PREVIEW_BYTES)
        encoded = base64.b64encode(data).decode("ascii")
        PreviewFrame(
            task_id="bench",
            step=step,
            total_steps=total,
            width=width,
            height=height,
            image=f"data:image/jpeg;base64,{encoded}",
        ).model_dump_json()
        self.bytes.append(len(data))


def _step_times(direct: "mural_overhead.Direct", sink) -> list[float]:
    stamps: list[float] = []
    direct.painter.paint(
        direct.request, on_step=lambda step, total: stamps.append(time.perf_counter()), preview=sink
    )
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def run(models_env: dict[str, str], paints: int = PAINTS, steps: int = STEPS, log=print) -> dict:
    photo, mask = mural_overhead.photo_and_mask()
    direct = mural_overhead.Direct(models_env, photo, mask, steps)
    off: list[float] = []
    on: list[float] = []
    sink = EncodingSink(MAX_SIDE)
    with mural_overhead.one_torch_thread():
        log(f"previews: {WARMUP} warm-up paints each way, then {paints} each, interleaved")
        for i in range(WARMUP + paints):
            plain, previewed = _step_times(direct, None), _step_times(direct, sink)
            if i >= WARMUP:
                off += plain
                on += previewed
    sizes = sink.bytes[WARMUP * (steps - 1) :]
    off_ms, on_ms = statistics.median(off) * 1000, statistics.median(on) * 1000
    return {
        "paints": paints,
        "steps": steps,
        "max_side": MAX_SIDE,
        "working_size": "{}x{}".format(*direct.working_size),
        "step_off_median_ms": round(off_ms, 2),
        "step_on_median_ms": round(on_ms, 2),
        "preview_cost_ms": round(on_ms - off_ms, 2),
        "ratio_on_vs_off": round(on_ms / off_ms, 3),
        # A watcher at the fastest rate allowed: one preview per 0.25 s of steps.
        "ratio_every_quarter_s": round(1 + (on_ms - off_ms) / max(off_ms, 250.0), 3),
        "previews": len(sizes),
        "bytes_median": int(statistics.median(sizes)),
        "bytes_max": max(sizes),
    }


def render(r: dict | None, number: int = 6) -> list[str]:
    title = f"{number}. Live preview cost per denoising step (tiny pipeline, 1 torch thread)"
    if not r:
        return []
    if "skipped" in r:
        return ["", f"{title}: skipped ({r['skipped']})"]
    return [
        "",
        f"{title}: {r['paints']} paints x {r['steps']} steps each way, diffusion at "
        f"{r['working_size']}, a preview at every step (worst case), {r['max_side']} px",
        f"   step median: off {r['step_off_median_ms']:.2f} ms, on {r['step_on_median_ms']:.2f} "
        f"ms; preview {r['preview_cost_ms']:.2f} ms; on/off {r['ratio_on_vs_off']:.2f}x (at "
        f"every_s 0.25: {r['ratio_every_quarter_s']:.3f}x)",
        f"   bytes per preview: median {r['bytes_median']}, max {r['bytes_max']} "
        f"({r['previews']} previews; limit 32000)",
    ]


NOTE = (
    "Previews: bench/preview_cost.py. The tiny inpainting pipeline in the bench process, the "
    "same mural (seed 7, uploaded-mask wall) painted with previews off and on, alternately; step "
    "time = between consecutive step callbacks; 'on' makes a preview at every step (latents -> "
    "RGB by the linear projection, pasted on the photo's wall, JPEG <= 32 kB, base64 frame) but "
    "does not publish it (the worker does that on its event loop). A real watcher gets one per "
    "every_s (>= 0.25 s), so on a GPU's 20-50 ms steps the cost is spread over 5-12 steps."
)


def _main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.preview_cost", description=__doc__)
    parser.add_argument("--paints", type=int, default=PAINTS, help="timed paints each way")
    parser.add_argument("--steps", type=int, default=STEPS, help="denoising steps per paint")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = mural_overhead.build_models(Path(tmp) / "tiny-models")
        result = run(env, args.paints, args.steps, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(result, indent=2))
    print("\n".join(render(result)))


if __name__ == "__main__":
    _main(sys.argv[1:])
