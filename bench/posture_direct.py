"""MediaPipe Pose called directly on one CPU: the baseline of the bench's posture section.

Runs in the posture service's environment (MediaPipe lives in .venv-posture, not in the bench's
.venv), as a plain script:

    .venv-posture/bin/python bench/posture_direct.py FRAME.jpg --frames 150 --cpu 1

Per frame: PIL decodes the JPEG bytes to RGB, then `Pose(static_image_mode=True,
model_complexity=1).process` - what the service does per frame, minus the websocket, the frame
checks, the thread hand-off and the scoring. The process is pinned to `--cpu` before MediaPipe
starts any thread (threads inherit the affinity). Prints one JSON object as its last line.
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("frame", type=Path, help="a JPEG file")
    parser.add_argument("--frames", type=int, default=150, help="timed frames")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames first (>= 1)")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    import numpy as np
    from mediapipe.python.solutions import pose as mp_pose
    from PIL import Image

    data = args.frame.read_bytes()
    began = time.perf_counter()
    pose = mp_pose.Pose(static_image_mode=True, model_complexity=1)

    def once() -> tuple[float, bool]:
        started = time.perf_counter()
        with Image.open(io.BytesIO(data)) as im:
            rgb = np.asarray(im.convert("RGB"))
        found = pose.process(rgb).pose_landmarks is not None
        return time.perf_counter() - started, found

    try:
        once()  # the graph starts on the first frame
        load_s = time.perf_counter() - began
        for _ in range(args.warmup - 1):
            once()
        times, found = [], 0
        cpu_began, wall_began = time.process_time(), time.perf_counter()
        for _ in range(args.frames):
            elapsed, person = once()
            times.append(elapsed)
            found += person
        wall = time.perf_counter() - wall_began
        cpu = time.process_time() - cpu_began
    finally:
        pose.close()
    times.sort()
    return {
        "frames": args.frames,
        "warmup_frames": args.warmup,
        "frame_bytes": len(data),
        "cpus": sorted(os.sched_getaffinity(0)),
        "load_and_first_frame_s": round(load_s, 2),
        "wall_s": round(wall, 3),
        "frames_per_s": round(args.frames / wall, 2),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000, 2),
        "min_ms": round(times[0] * 1000, 2),
        "cpu_util": round(cpu / wall, 2),
        "cpu_ms_per_frame": round(cpu * 1000 / args.frames, 2),
        "pose_found": found,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])), flush=True)
