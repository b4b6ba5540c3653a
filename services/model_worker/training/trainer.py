"""The training loop of `train_theme_lora.py`: accelerate for the device, mixed precision and
gradient accumulation; peft LoRA on the inpainting UNet (and optionally the text encoder);
AdamW with a warm-up schedule; optional min-SNR weighting; checkpoints, validation, resume.

Deterministic by construction: which images a batch holds, their crops and masks, and the
noise and timesteps of every step all derive from (--seed, the batch's number), never from a
random state carried along. So a run resumed from a checkpoint continues exactly where the
interrupted one would have gone (4 steps = 2 + resume 2).
"""

import json
import logging
import math
import platform
import time
from pathlib import Path

import numpy as np

from saekdam_training import checkpoints
from saekdam_training.checkpoints import TrainingState
from saekdam_training.data import ThemeImages
from saekdam_training.inputs import InpaintInputs, inpaint_inputs, unet_input
from saekdam_training.masks import TrainingMasks
from saekdam_training.validation import grid_path, load_cases, paint_grid

log = logging.getLogger("train_theme_lora")

TEXT_ENCODER_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]
INTERRUPTED_EXIT = 130
BAD_INPUT_EXIT = 2
TRAINING_JSON = "training.json"


def batch_positions(
    micro_step: int, batch_size: int, count: int, seed: int
) -> list[tuple[int, int]]:
    """(epoch, image index) of each sample of batch `micro_step`: every epoch visits every
    image once, in an order drawn from (seed, epoch)."""
    positions = []
    for k in range(batch_size):
        position = micro_step * batch_size + k
        epoch = position // count
        order = np.random.default_rng([seed, epoch]).permutation(count)
        positions.append((epoch, int(order[position % count])))
    return positions


def step_generator(seed: int, micro_step: int):
    """The noise, timesteps and VAE sampling of one batch, from (seed, batch number)."""
    import torch

    return torch.Generator().manual_seed(
        int(np.random.default_rng([seed, micro_step]).integers(2**62))
    )


def min_snr_weights(noise_scheduler, timesteps, gamma: float):
    """Min-SNR-γ loss weights (Hang et al. 2023), as the diffusers examples compute them."""
    import torch
    from diffusers.training_utils import compute_snr

    snr = compute_snr(noise_scheduler, timesteps)
    weights = torch.stack([snr, gamma * torch.ones_like(timesteps)], dim=1).min(dim=1)[0]
    if noise_scheduler.config.prediction_type == "v_prediction":
        return weights / (snr + 1)
    return weights / snr


class Trainer:
    def __init__(self, args, images: ThemeImages):
        self.args = args
        self.images = images

    # -- set-up --------------------------------------------------------------------------------

    def _models(self, accelerator):
        import torch
        from diffusers import DDPMScheduler
        from peft import LoraConfig

        from saekdam_worker.models.loading import read_inpaint_pipeline
        from saekdam_worker.models.settings import ModelSettings

        args = self.args
        self.settings = ModelSettings(
            model_dir=args.model_dir,
            inpaint_model=args.pretrained_model,
            sam_checkpoint=args.sam_checkpoint,
        )
        # Loaded in fp32 through the worker's own code (the same files, the same errors).
        pipe = read_inpaint_pipeline(self.settings, torch.float32)
        pipe.set_progress_bar_config(disable=True)
        if pipe.unet.config.in_channels != 9:
            raise ValueError(
                f"{args.pretrained_model} is not an inpainting model: its UNet takes "
                f"{pipe.unet.config.in_channels} channels, not 9"
            )
        self.weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(
            accelerator.mixed_precision, torch.float32
        )
        for part in (pipe.unet, pipe.vae, pipe.text_encoder):
            part.requires_grad_(False)
            part.to(accelerator.device)
            if self.weight_dtype != torch.float32:
                part.to(dtype=self.weight_dtype)
        self.unet_config = LoraConfig(
            r=args.rank,
            lora_alpha=args.alpha,
            init_lora_weights="gaussian",
            target_modules=args.target_modules,
        )
        # The LoRA's starting weights come from the seed too.
        torch.manual_seed(args.seed)
        # The adapter is named after the theme, as the worker names it when it loads one.
        pipe.unet.add_adapter(self.unet_config, adapter_name=args.theme)
        self.text_config = None
        trained = [pipe.unet]
        if args.train_text_encoder:
            self.text_config = LoraConfig(
                r=args.rank,
                lora_alpha=args.alpha,
                init_lora_weights="gaussian",
                target_modules=TEXT_ENCODER_TARGETS,
            )
            pipe.text_encoder.add_adapter(self.text_config, adapter_name=args.theme)
            trained.append(pipe.text_encoder)
        if self.weight_dtype != torch.float32:
            from diffusers.training_utils import cast_training_params

            cast_training_params(trained, dtype=torch.float32)  # the LoRA weights train in fp32
        self.pipe = pipe
        self.noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        self.params = [p for model in trained for p in model.parameters() if p.requires_grad]

    def _segmenter(self, device):
        """SAM for wall-shaped masks, when the mix wants walls and a checkpoint is here."""
        if self.args.mask_mix.wall <= 0:
            return None
        from saekdam_worker.models.loading import load_sam, sam_checkpoint_path
        from saekdam_worker.pipelines.wall_mask import WallSegmenter

        if not sam_checkpoint_path(self.settings).is_file():
            log.warning(
                "no SAM checkpoint at %s: wall masks become rectangles",
                sam_checkpoint_path(self.settings),
            )
            return None
        return WallSegmenter(load_sam(self.settings, device))

    # -- the run -------------------------------------------------------------------------------

    def run(self, interrupt) -> int:
        import torch
        from accelerate import Accelerator
        from diffusers.optimization import get_scheduler
        from tqdm.auto import tqdm

        from saekdam_worker.models.loading import ModelUnavailable

        args = self.args
        accelerator = Accelerator(
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            mixed_precision=args.mixed_precision,
            cpu=args.cpu,
        )
        try:
            self._models(accelerator)
            resume = checkpoints.resolve_resume(args.output_dir, args.resume_from_checkpoint)
            cases = load_cases(args.validation_images, args.validation_masks)
        except (ModelUnavailable, ValueError) as problem:
            log.error("%s", problem)
            return BAD_INPUT_EXIT
        sam_options = {
            "points_per_side": args.sam_points_per_side,
            "pred_iou_thresh": args.sam_pred_iou_thresh,
            "stability_score_thresh": args.sam_stability_score_thresh,
        }
        self.masks = TrainingMasks(
            args.mask_mix,
            self._segmenter(accelerator.device),
            seed=args.seed,
            fixed=args.fixed_masks,
            sam_options=sam_options,
        )
        optimizer = torch.optim.AdamW(
            self.params,
            lr=args.learning_rate,
            betas=(args.adam_beta1, args.adam_beta2),
            weight_decay=args.adam_weight_decay,
            eps=args.adam_epsilon,
        )
        lr_scheduler = get_scheduler(
            args.lr_scheduler,
            optimizer=optimizer,
            num_warmup_steps=args.lr_warmup_steps * accelerator.num_processes,
            num_training_steps=args.max_train_steps * accelerator.num_processes,
        )
        unet, optimizer, lr_scheduler = accelerator.prepare(self.pipe.unet, optimizer, lr_scheduler)
        self.accelerator = accelerator
        state = TrainingState()
        if resume is not None:
            state = checkpoints.load_checkpoint(
                resume,
                unet=accelerator.unwrap_model(unet),
                adapter_name=args.theme,
                optimizer=optimizer,
                lr_scheduler=lr_scheduler,
                text_encoder=self.pipe.text_encoder if args.train_text_encoder else None,
            )
            log.info("resumed from %s at step %d", resume, state.step)
        self.cached: dict[int, InpaintInputs] = {}
        self.prompts: dict[str, object] = {}

        progress = tqdm(
            total=args.max_train_steps,
            initial=state.step,
            desc=f"training {args.theme}",
            unit="step",
            disable=not accelerator.is_local_main_process,
        )
        started, started_step = time.monotonic(), state.step
        window: list[float] = []
        unet.train()
        interrupted = False
        while state.step < args.max_train_steps:
            with accelerator.accumulate(unet):
                loss = self._loss(unet, state.micro_step)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(self.params, args.max_grad_norm)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
            state.micro_step += 1
            window.append(float(loss.detach()))
            if not accelerator.sync_gradients:
                continue
            state.step += 1
            state.loss = sum(window) / len(window)
            window.clear()
            if not math.isfinite(state.loss):
                log.error(
                    "the loss is %s at step %d: lower --learning_rate", state.loss, state.step
                )
                return 1
            rate = (state.step - started_step) / max(1e-9, time.monotonic() - started)
            progress.update(1)
            progress.set_postfix(
                loss=f"{state.loss:.4f}",
                lr=f"{lr_scheduler.get_last_lr()[0]:.2e}",
                steps_per_s=f"{rate:.2f}",
            )
            last = state.step == args.max_train_steps
            interrupted = interrupt.asked
            if last or interrupted or state.step % args.checkpointing_steps == 0:
                self._checkpoint(unet, optimizer, lr_scheduler, state)
            if cases and (last or state.step % args.validation_steps == 0):
                self._validate(unet, cases, state.step)
            if interrupted:
                break
        progress.close()
        if interrupted:
            log.warning(
                "stopped at step %d; resume with --resume_from_checkpoint latest", state.step
            )
            return INTERRUPTED_EXIT
        self._save_output(unet, state, started, started_step)
        return 0

    # -- one batch -----------------------------------------------------------------------------

    def _loss(self, unet, micro_step: int):
        import torch
        import torch.nn.functional as F

        args, device = self.args, self.accelerator.device
        generator = step_generator(args.seed, micro_step)
        positions = batch_positions(micro_step, args.train_batch_size, len(self.images), args.seed)
        inputs, captions = self._inputs(positions, generator)
        latents = inputs.latents
        noise = torch.randn(latents.shape, generator=generator).to(device, latents.dtype)
        steps = self.noise_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (latents.shape[0],), generator=generator).to(device)
        noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
        if self.noise_scheduler.config.prediction_type == "v_prediction":
            target = self.noise_scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        prediction = unet(
            unet_input(noisy, inputs), timesteps, self._encode(captions), return_dict=False
        )[0]
        if args.snr_gamma is None:
            return F.mse_loss(prediction.float(), target.float(), reduction="mean")
        loss = F.mse_loss(prediction.float(), target.float(), reduction="none")
        loss = loss.mean(dim=list(range(1, loss.ndim)))
        return (loss * min_snr_weights(self.noise_scheduler, timesteps, args.snr_gamma)).mean()

    def _inputs(self, positions, generator) -> tuple[InpaintInputs, list[str]]:
        """The batch's conditioning; with --cache_latents each image's is made once (its crop
        and mask fixed: epoch 0's)."""
        import torch

        if self.args.cache_latents:
            parts, captions = [], []
            for _, index in positions:
                if index not in self.cached:
                    sample, alpha = self._sample(0, index)
                    one = torch.Generator().manual_seed(self.args.seed * 1_000_003 + index)
                    with torch.no_grad():
                        self.cached[index] = inpaint_inputs(self.pipe, [sample.image], [alpha], one)
                parts.append(self.cached[index])
                captions.append(self.images.captions[index])
            return InpaintInputs(
                latents=torch.cat([p.latents for p in parts]),
                mask=torch.cat([p.mask for p in parts]),
                masked_image_latents=torch.cat([p.masked_image_latents for p in parts]),
            ), captions
        samples = [self._sample(epoch, index) for epoch, index in positions]
        with torch.no_grad():
            inputs = inpaint_inputs(
                self.pipe, [s.image for s, _ in samples], [a for _, a in samples], generator
            )
        return inputs, [s.caption for s, _ in samples]

    def _sample(self, epoch: int, index: int):
        self.images.set_epoch(epoch)
        sample = self.images[index]
        alpha, _ = self.masks.for_sample(index, sample.image, epoch)
        return sample, alpha

    def _encode(self, captions: list[str]):
        """CLIP embeddings of the captions (remembered per caption while the encoder is frozen)."""
        import torch

        pipe, device = self.pipe, self.accelerator.device
        tokenize = lambda texts: pipe.tokenizer(  # noqa: E731
            texts,
            padding="max_length",
            max_length=pipe.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(device)
        if self.args.train_text_encoder:
            return pipe.text_encoder(tokenize(captions), return_dict=False)[0]
        missing = [c for c in dict.fromkeys(captions) if c not in self.prompts]
        if missing:
            with torch.no_grad():
                embeddings = pipe.text_encoder(tokenize(missing), return_dict=False)[0]
            self.prompts.update(zip(missing, embeddings, strict=True))
        return torch.stack([self.prompts[c] for c in captions])

    # -- outputs -------------------------------------------------------------------------------

    def _checkpoint(self, unet, optimizer, lr_scheduler, state: TrainingState) -> None:
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            return
        folder = checkpoints.save_checkpoint(
            self.args.output_dir,
            state,
            unet=accelerator.unwrap_model(unet),
            adapter_name=self.args.theme,
            unet_config=self.unet_config,
            optimizer=optimizer,
            lr_scheduler=lr_scheduler,
            text_encoder=self.pipe.text_encoder if self.args.train_text_encoder else None,
            text_config=self.text_config,
            keep=self.args.checkpoints_total_limit,
        )
        log.info("checkpoint %s (loss %.4f)", folder, state.loss)

    def _validate(self, unet, cases, step: int) -> None:
        import torch

        accelerator = self.accelerator
        if not accelerator.is_main_process:
            return
        args = self.args
        unet.eval()
        try:
            with torch.no_grad():
                grid = paint_grid(
                    self.pipe,
                    args.theme,
                    cases,
                    prompt=args.validation_prompt,
                    steps=args.validation_inference_steps,
                    seed=args.seed,
                    max_side=args.resolution,
                )
        finally:
            unet.train()
        path = grid_path(args.output_dir, step)
        path.parent.mkdir(parents=True, exist_ok=True)
        grid.save(path)
        log.info("validation grid %s", path)

    def _save_output(self, unet, state: TrainingState, started: float, started_step: int) -> None:
        import diffusers
        import peft
        import torch

        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            return
        args = self.args
        out: Path = args.output_dir
        text_encoder = self.pipe.text_encoder if args.train_text_encoder else None
        checkpoints.save_adapter(
            out,
            accelerator.unwrap_model(unet),
            args.theme,
            self.unet_config,
            text_encoder,
            self.text_config,
        )
        seconds = time.monotonic() - started
        settings = {
            key: (str(value) if isinstance(value, Path) else value)
            for key, value in vars(args).items()
        }
        settings["mask_mix"] = dict(
            zip(("wall", "rect", "stroke"), args.mask_mix.probabilities, strict=True)
        )
        settings["validation_images"] = [str(p) for p in args.validation_images]
        settings["validation_masks"] = [str(p) for p in args.validation_masks]
        record = {
            "theme": args.theme,
            "settings": settings,
            "data": {
                "images": len(self.images),
                "hash": self.images.data_hash(),
            },
            "steps": state.step,
            "final_loss": state.loss,
            "seconds": round(seconds, 1),
            "steps_per_s": round((state.step - started_step) / seconds, 4) if seconds else None,
            "device": str(accelerator.device),
            "mixed_precision": accelerator.mixed_precision,
            "versions": {
                "torch": torch.__version__,
                "diffusers": diffusers.__version__,
                "peft": peft.__version__,
                "python": platform.python_version(),
            },
        }
        (out / TRAINING_JSON).write_text(json.dumps(record, indent=2) + "\n")
        log.info("adapter saved to %s (%d steps, final loss %.4f)", out, state.step, state.loss)
