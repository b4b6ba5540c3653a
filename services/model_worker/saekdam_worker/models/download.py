"""Fetch the GPU jobs' weights into MODEL_DIR: `python -m saekdam_worker.models.download`.

The one place that talks to a model hub; workers load local files only. Sources that are
local folders are left alone. Progress bars come from huggingface_hub and tqdm.
"""

import argparse
import shutil
import sys
import urllib.request
from pathlib import Path

from tqdm import tqdm

from .loading import SAM_CHECKPOINT_FILES, hub_cache, sam_checkpoint_path
from .settings import ModelSettings

SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/{file}"
# What from_pretrained reads, per component folder: configs, tokenizers and one safetensors
# file per model. Not the repos' single-file checkpoints, fp16 duplicates, ONNX/Flax copies
# or the safety checker (never loaded).
ALLOW_PATTERNS = [
    "*.json",
    "*.txt",
    "*/tokenizer*/*",
    "diffusion_pytorch_model.safetensors",
    "*/diffusion_pytorch_model.safetensors",
    "*/model.safetensors",
]
IGNORE_PATTERNS = ["safety_checker/*", "*.fp16.safetensors", "*onnx*", "*openvino*", "*flax*"]
GROUPS = ("inpaint", "sketch", "sam", "previews")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        help="download only this group (repeatable): inpaint = SD 1.5 inpainting, "
        "sketch = SDXL base + fp16-fix VAE + T2I sketch adapter, sam = Segment Anything, "
        "previews = TAESD + TAESDXL (tiny decoders for live previews)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be fetched and where, then stop"
    )
    return parser.parse_args(argv)


def hub_sources(settings: ModelSettings, groups: set[str]) -> list[str]:
    sources = []
    if "inpaint" in groups:
        sources.append(settings.inpaint_model)
    if "sketch" in groups:
        sources += [settings.sdxl_model, settings.sdxl_vae, settings.sketch_adapter]
    if "previews" in groups:
        sources += [settings.taesd_model, settings.taesdxl_model]
    return [s for s in sources if s and not Path(s).is_dir()]


def fetch_hub(repo_id: str, settings: ModelSettings) -> None:
    from huggingface_hub import snapshot_download

    print(f"fetching {repo_id} into {hub_cache(settings)}")
    snapshot_download(
        repo_id,
        cache_dir=str(hub_cache(settings)),
        allow_patterns=ALLOW_PATTERNS,
        ignore_patterns=IGNORE_PATTERNS,
    )


def fetch_sam(settings: ModelSettings) -> None:
    target = sam_checkpoint_path(settings)
    if target.is_file():
        print(f"SAM checkpoint already at {target}")
        return
    url = SAM_URL.format(file=SAM_CHECKPOINT_FILES[settings.sam_model_type])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    print(f"fetching {url} into {target}")
    with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
        total = int(response.headers.get("Content-Length", 0)) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
    shutil.move(partial, target)  # only a complete file ever has the real name


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = ModelSettings()
    groups = set(args.only or GROUPS)
    plan = hub_sources(settings, groups)
    if args.dry_run:
        for source in plan:
            print(f"hub: {source} -> {hub_cache(settings)}")
        if "sam" in groups:
            print(f"sam: {settings.sam_model_type} -> {sam_checkpoint_path(settings)}")
        return 0
    for source in plan:
        fetch_hub(source, settings)
    if "sam" in groups:
        fetch_sam(settings)
    print(
        f"LoRA adapters are trained, not downloaded: put one folder per theme in "
        f"{settings.lora_dir} (see README, 'Models')."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
