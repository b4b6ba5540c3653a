"""Train a theme's LoRA on the 9-channel inpainting UNet, with masks shaped like the job.

    python -m saekdam_training.train_theme_lora --theme ocean --data_dir photos/ocean \\
        --output_dir var/models/lora/ocean

(`make train THEME=ocean DATA=photos/ocean` does the same.) The output folder is what the
worker loads from LORA_DIR/<theme>/: the adapter in diffusers' format with its metadata, and
`training.json`; a running worker advertises the theme within seconds. Checkpoints (optimizer,
scheduler and adapter) go to <output_dir>/checkpoints/; validation grids (photo | base model |
with the adapter) to <output_dir>/validation/.

Written in the style of the diffusers training examples: `parse_args()` with help on every flag
and its sanity checks, then `main(args)`. Every step builds the UNet's input exactly as the
pipeline does at inference (`saekdam_training.inputs`), on masks like the worker's walls
(`saekdam_training.masks`).
"""

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from saekdam_training.data import DataError, ThemeImages, check_resolution
from saekdam_training.masks import MaskMix
from saekdam_worker.pipelines.prompts import CUSTOM, THEMES, TRIGGER_WORDS, theme_prompt

log = logging.getLogger("train_theme_lora")

TRAINABLE_THEMES = [theme for theme in THEMES if theme != CUSTOM]
DEFAULT_TARGETS = "to_q,to_k,to_v,to_out.0"
LR_SCHEDULES = (
    "constant",
    "constant_with_warmup",
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description="Train a Saekdam theme's LoRA adapter on the Stable Diffusion inpainting "
        "UNet, with wall-shaped masks; the output drops into LORA_DIR/<theme>/.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--pretrained_model",
        default=env("INPAINT_MODEL", "stable-diffusion-v1-5/stable-diffusion-inpainting"),
        help="the inpainting pipeline: a Hugging Face id in MODEL_DIR's cache (`make "
        "download-models`) or a local diffusers folder; the worker's INPAINT_MODEL",
    )
    model.add_argument(
        "--model_dir",
        default=env("MODEL_DIR", "var/models"),
        help="where downloaded models are (the worker's MODEL_DIR); nothing is fetched",
    )
    model.add_argument(
        "--sam_checkpoint",
        default=env("SAM_CHECKPOINT", ""),
        help="Segment Anything checkpoint for wall-shaped masks; empty: MODEL_DIR/sam/<the "
        "official vit_b file>; without one, wall masks fall back to rectangles",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--theme", required=True, choices=TRAINABLE_THEMES, help="the theme")
    data.add_argument(
        "--data_dir",
        required=True,
        type=Path,
        help="a folder of images (.png .jpg .jpeg .webp), each with an optional same-name "
        ".txt caption",
    )
    data.add_argument(
        "--caption_template",
        default=None,
        help="the caption of an image without a .txt ({theme} is replaced); default: the "
        "worker's own prompt for the theme, so training and painting use the same words",
    )
    data.add_argument(
        "--trigger",
        default=TRIGGER_WORDS,
        help="words appended to every caption that lacks them (the worker's prompts start "
        "with them)",
    )
    data.add_argument(
        "--resolution",
        type=int,
        default=512,
        help="training size: images are resized and cropped to this square (multiple of 8)",
    )
    data.add_argument("--random_flip", action="store_true", help="flip images at random")
    masks = parser.add_argument_group("masks")
    masks.add_argument(
        "--mask_mix",
        type=MaskMix.parse,
        default=MaskMix.parse("0.6,0.2,0.2"),
        help="ratios of wall-shaped (SAM), rectangle and stroke masks, e.g. 0.6,0.2,0.2",
    )
    masks.add_argument(
        "--fixed_masks",
        action="store_true",
        help="one mask per image for the whole run (needed by --cache_latents)",
    )
    masks.add_argument(
        "--sam_points_per_side",
        type=int,
        default=32,
        help="SAM's automatic prompt grid for wall masks (the worker's default)",
    )
    masks.add_argument(
        "--sam_pred_iou_thresh",
        type=float,
        default=0.86,
        help="SAM's predicted-quality cut for wall candidates (the worker's default)",
    )
    masks.add_argument(
        "--sam_stability_score_thresh",
        type=float,
        default=0.92,
        help="SAM's stability cut for wall candidates (the worker's default)",
    )
    lora = parser.add_argument_group("LoRA")
    lora.add_argument("--rank", type=int, default=16, help="LoRA rank")
    lora.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="LoRA alpha (scale alpha/rank; default: the rank, scale 1)",
    )
    lora.add_argument(
        "--target_modules",
        default=DEFAULT_TARGETS,
        help="comma-separated UNet module names that get LoRA layers",
    )
    lora.add_argument(
        "--train_text_encoder",
        action="store_true",
        help="also train a LoRA on the text encoder (frozen otherwise)",
    )
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--max_train_steps", type=int, default=1500, help="optimizer steps")
    optim.add_argument("--train_batch_size", type=int, default=1, help="images per step")
    optim.add_argument(
        "--gradient_accumulation_steps",
        type=int,
        default=1,
        help="batches whose gradients are summed before each optimizer step",
    )
    optim.add_argument("--learning_rate", type=float, default=1e-4, help="peak learning rate")
    optim.add_argument(
        "--lr_scheduler", default="constant_with_warmup", choices=LR_SCHEDULES, help="schedule"
    )
    optim.add_argument("--lr_warmup_steps", type=int, default=100, help="warm-up steps")
    optim.add_argument("--adam_beta1", type=float, default=0.9, help="AdamW beta1")
    optim.add_argument("--adam_beta2", type=float, default=0.999, help="AdamW beta2")
    optim.add_argument("--adam_weight_decay", type=float, default=1e-2, help="AdamW decay")
    optim.add_argument("--adam_epsilon", type=float, default=1e-8, help="AdamW epsilon")
    optim.add_argument("--max_grad_norm", type=float, default=1.0, help="gradient clipping")
    optim.add_argument(
        "--snr_gamma",
        type=float,
        default=None,
        help="min-SNR loss weighting with this gamma (5.0 is the paper's); off by default",
    )
    optim.add_argument(
        "--mixed_precision",
        default="no",
        choices=("no", "fp16", "bf16"),
        help="accelerate's mixed precision (fp16 or bf16 on a GPU)",
    )
    optim.add_argument(
        "--cache_latents",
        action="store_true",
        help="encode each image and its mask once (needs --fixed_masks, no --random_flip)",
    )
    optim.add_argument("--seed", type=int, default=0, help="seed for data, masks and noise")
    optim.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU")
    out = parser.add_argument_group("output, checkpoints and validation")
    out.add_argument(
        "--output_dir",
        type=Path,
        default=None,
        help="where the adapter goes (default: LORA_DIR/<theme>, where the worker finds it)",
    )
    out.add_argument(
        "--checkpointing_steps", type=int, default=250, help="a checkpoint every N steps"
    )
    out.add_argument(
        "--checkpoints_total_limit", type=int, default=3, help="checkpoints kept (oldest go)"
    )
    out.add_argument(
        "--resume_from_checkpoint",
        default=None,
        help="a checkpoint folder to continue from, or `latest`",
    )
    out.add_argument(
        "--validation_images",
        nargs="*",
        type=Path,
        default=[],
        help="fixed wall photos the adapter is judged on",
    )
    out.add_argument(
        "--validation_masks",
        nargs="*",
        type=Path,
        default=[],
        help="one mask per validation photo (white = wall), the same size as it",
    )
    out.add_argument(
        "--validation_prompt", default="", help="the user's part of the validation prompt"
    )
    out.add_argument(
        "--validation_steps", type=int, default=250, help="validate every N steps (and at the end)"
    )
    out.add_argument(
        "--validation_inference_steps", type=int, default=30, help="denoising steps per image"
    )
    args = parser.parse_args(argv)
    try:
        _check(args)
    except ValueError as problem:
        parser.error(str(problem))
    return args


def _check(args: argparse.Namespace) -> None:
    check_resolution(args.resolution)
    if args.rank < 1:
        raise ValueError(f"--rank has to be at least 1, not {args.rank}")
    args.alpha = float(args.rank if args.alpha is None else args.alpha)
    if args.alpha <= 0:
        raise ValueError(f"--alpha has to be positive, not {args.alpha}")
    args.target_modules = [m.strip() for m in args.target_modules.split(",") if m.strip()]
    if not args.target_modules:
        raise ValueError("--target_modules names no module")
    for name in (
        "max_train_steps",
        "train_batch_size",
        "gradient_accumulation_steps",
        "checkpointing_steps",
        "checkpoints_total_limit",
        "validation_steps",
        "validation_inference_steps",
    ):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} has to be at least 1, not {getattr(args, name)}")
    if args.lr_warmup_steps < 0 or args.learning_rate <= 0:
        raise ValueError("--learning_rate has to be positive and --lr_warmup_steps not negative")
    if args.snr_gamma is not None and args.snr_gamma <= 0:
        raise ValueError(f"--snr_gamma has to be positive, not {args.snr_gamma}")
    if args.cache_latents and (not args.fixed_masks or args.random_flip):
        raise ValueError("--cache_latents needs --fixed_masks and no --random_flip")
    if len(args.validation_images) != len(args.validation_masks):
        raise ValueError(
            f"{len(args.validation_images)} --validation_images but "
            f"{len(args.validation_masks)} --validation_masks: one mask per photo"
        )
    for path in [*args.validation_images, *args.validation_masks]:
        if not path.is_file():
            raise ValueError(f"validation file {path} does not exist")
    if not args.data_dir.is_dir():
        raise ValueError(f"--data_dir {args.data_dir} is not a folder")
    if args.output_dir is None:
        args.output_dir = Path(os.environ.get("LORA_DIR", "var/models/lora")) / args.theme
    if args.output_dir.resolve().is_relative_to(args.data_dir.resolve()):
        raise ValueError("--output_dir must not be inside --data_dir")
    if args.train_text_encoder and (reason := text_encoder_lora_unsupported()):
        raise ValueError(f"--train_text_encoder: {reason}")
    if args.caption_template is None:
        args.caption_template = theme_prompt(args.theme)


def text_encoder_lora_unsupported() -> str | None:
    """Why a text-encoder LoRA could not be loaded here (None: it can). diffusers loads one
    through transformers' `load_adapter`, which refuses peft versions below its minimum; an
    adapter the worker cannot load must not be made."""
    from importlib.metadata import version

    from packaging.version import Version
    from transformers.integrations import peft as transformers_peft

    needed = getattr(transformers_peft, "MIN_PEFT_VERSION", "0")
    if Version(version("peft")) < Version(needed):
        return (
            f"transformers {version('transformers')} loads text-encoder adapters only with "
            f"peft >= {needed}, and peft {version('peft')} is installed; the worker could "
            "not load the adapter, so train the UNet only (the default)"
        )
    return None


# -- the run ---------------------------------------------------------------------------------


class Interrupt:
    """Ctrl-C (or SIGTERM) asks the loop to stop after the current step and checkpoint."""

    def __init__(self):
        self.asked = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._ask)

    def _ask(self, signum, frame) -> None:
        if self.asked:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.asked = True
        log.warning("stopping after this step; the last checkpoint is kept (Ctrl-C again: now)")


def main(args: argparse.Namespace) -> int:
    """Train; 0 when done, 130 when interrupted (a checkpoint kept), 2 for bad data."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        images = ThemeImages(
            args.data_dir,
            args.theme,
            args.resolution,
            template=args.caption_template,
            trigger=args.trigger,
            flip=args.random_flip,
            seed=args.seed,
        )
    except DataError as problem:
        log.error("%s", problem)
        return 2
    from saekdam_training.trainer import Trainer

    interrupt = Interrupt()
    interrupt.install()
    trainer = Trainer(args, images)
    return trainer.run(interrupt)


if __name__ == "__main__":
    sys.exit(main(parse_args()))
