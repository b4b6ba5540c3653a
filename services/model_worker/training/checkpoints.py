"""Checkpoints and the final adapter of a theme training run.

A checkpoint (`<output>/checkpoints/checkpoint-<step>/`) holds what resuming needs and no
more: the LoRA weights (peft's own keys), the optimizer's and the LR scheduler's state, and
`training_state.json` (steps done, batches seen, last loss). Beside them, the adapter in the
diffusers format the worker loads, so any checkpoint, including the one Ctrl-C leaves, can be
painted with as it is (copy it into LORA_DIR/<theme>/). The base model's frozen weights are
never written: a checkpoint is megabytes, not gigabytes.
"""

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

CHECKPOINTS = "checkpoints"
STATE_FILE = "training_state.json"
PEFT_WEIGHTS = "unet_lora_peft.safetensors"
TEXT_PEFT_WEIGHTS = "text_encoder_lora_peft.safetensors"
OPTIMIZER = "optimizer.pt"
SCHEDULER = "scheduler.pt"
# What diffusers' save_lora_weights writes and load_lora_weights reads by default.
ADAPTER_WEIGHTS = "pytorch_lora_weights.safetensors"


@dataclass
class TrainingState:
    step: int = 0  # optimizer steps done
    micro_step: int = 0  # batches seen: step × gradient accumulation
    loss: float | None = None  # the last optimizer step's mean loss


def checkpoint_dir(output_dir: Path, step: int) -> Path:
    return output_dir / CHECKPOINTS / f"checkpoint-{step}"


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (a folder without its state file is not one)."""
    folder = output_dir / CHECKPOINTS
    found = [p for p in folder.glob("checkpoint-*") if (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(p.name.rsplit("-", 1)[1]))


def resolve_resume(output_dir: Path, value: str | None) -> Path | None:
    """The checkpoint `--resume_from_checkpoint` means: a folder, or `latest` (None when
    there is none yet, so the same command starts a run and continues it)."""
    if value is None:
        return None
    if value == "latest":
        found = list_checkpoints(output_dir)
        return found[-1] if found else None
    path = Path(value)
    if not (path / STATE_FILE).is_file():
        raise ValueError(f"--resume_from_checkpoint {path} is not a checkpoint folder")
    return path


def adapter_layers(model, adapter_name: str) -> dict:
    """A model's LoRA weights in diffusers' format (what save_lora_weights takes)."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    return convert_state_dict_to_diffusers(
        get_peft_model_state_dict(model, adapter_name=adapter_name)
    )


def save_adapter(
    folder: Path, unet, adapter_name: str, unet_config, text_encoder=None, text_config=None
):
    """The adapter as the worker loads it: diffusers' LoRA file with the adapter metadata
    (rank, alpha, targets), without which alpha ≠ rank reloads at the wrong scale. Written
    beside and then moved into place, so a worker scanning the folder never reads half a file."""
    from diffusers import StableDiffusionInpaintPipeline

    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    extra = {}
    if text_encoder is not None:
        extra = {
            "text_encoder_lora_layers": adapter_layers(text_encoder, adapter_name),
            "text_encoder_lora_adapter_metadata": text_config.to_dict(),
        }
    StableDiffusionInpaintPipeline.save_lora_weights(
        str(partial),
        unet_lora_layers=adapter_layers(unet, adapter_name),
        unet_lora_adapter_metadata=unet_config.to_dict(),
        **extra,
    )
    # safetensors writes owner-only files; the worker may run as another user.
    os.chmod(partial / ADAPTER_WEIGHTS, 0o644)
    os.replace(partial / ADAPTER_WEIGHTS, folder / ADAPTER_WEIGHTS)
    shutil.rmtree(partial, ignore_errors=True)


def save_checkpoint(
    output_dir: Path,
    state: TrainingState,
    *,
    unet,
    adapter_name: str,
    unet_config,
    optimizer,
    lr_scheduler,
    text_encoder=None,
    text_config=None,
    keep: int,
) -> Path:
    """Everything resuming needs, then the oldest checkpoints beyond `keep` removed. The state
    file is written last: a checkpoint cut short by a crash is not listed."""
    import torch
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    folder = checkpoint_dir(output_dir, state.step)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    save_file(
        _contiguous(get_peft_model_state_dict(unet, adapter_name=adapter_name)),
        folder / PEFT_WEIGHTS,
    )
    if text_encoder is not None:
        weights = get_peft_model_state_dict(text_encoder, adapter_name=adapter_name)
        save_file(_contiguous(weights), folder / TEXT_PEFT_WEIGHTS)
    torch.save(optimizer.state_dict(), folder / OPTIMIZER)
    torch.save(lr_scheduler.state_dict(), folder / SCHEDULER)
    save_adapter(folder, unet, adapter_name, unet_config, text_encoder, text_config)
    (folder / STATE_FILE).write_text(json.dumps(asdict(state), indent=2) + "\n")
    for old in list_checkpoints(output_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def load_checkpoint(
    folder: Path, *, unet, adapter_name: str, optimizer, lr_scheduler, text_encoder=None
) -> TrainingState:
    """Puts a checkpoint's weights and optimizer and scheduler state back; its progress."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(unet, load_file(folder / PEFT_WEIGHTS), adapter_name=adapter_name)
    if text_encoder is not None:
        if not (folder / TEXT_PEFT_WEIGHTS).is_file():
            raise ValueError(f"{folder} was trained without --train_text_encoder")
        set_peft_model_state_dict(
            text_encoder, load_file(folder / TEXT_PEFT_WEIGHTS), adapter_name=adapter_name
        )
    optimizer.load_state_dict(torch.load(folder / OPTIMIZER, weights_only=True))
    lr_scheduler.load_state_dict(torch.load(folder / SCHEDULER, weights_only=True))
    data = json.loads((folder / STATE_FILE).read_text())
    return TrainingState(**{k: data[k] for k in ("step", "micro_step", "loss") if k in data})


def _contiguous(tensors: dict) -> dict:
    return {name: tensor.detach().contiguous() for name, tensor in tensors.items()}
