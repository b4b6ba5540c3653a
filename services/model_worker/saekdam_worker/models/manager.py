"""The process's models: each loaded once, on first use, and kept.

A worker process runs one job at a time in one thread, so a pipeline is never shared across
threads; a worker that never gets a mural never loads Stable Diffusion.
"""

import logging
from functools import cached_property
from pathlib import Path

from saekdam_contracts.capabilities import MURAL_REGIONS, MuralRegion, WorkerCapabilities
from saekdam_contracts.jobs import STYLES, THEMES

from . import loading
from .settings import ModelSettings

log = logging.getLogger(__name__)


def source_present(source: str, settings: ModelSettings) -> bool:
    """Whether a model source can be loaded offline, without loading it."""
    if Path(source).is_dir():
        return True
    folder = loading.hub_cache(settings) / f"models--{source.replace('/', '--')}" / "snapshots"
    return folder.is_dir() and any(folder.iterdir())


def folder_stamp(folder: Path) -> tuple[int, float] | None:
    """(file count, newest mtime) of a theme's adapter folder, None when it holds no file: a
    changed stamp means new weights (a broken adapter is tried again once it changes)."""
    try:
        files = [p.stat().st_mtime for p in folder.iterdir() if p.is_file()]
    except OSError:
        return None
    return (len(files), max(files)) if files else None


class ModelManager:
    def __init__(self, settings: ModelSettings):
        self.settings = settings
        # Theme folders whose adapter failed to load, by their stamp then.
        self._broken_adapters: dict[str, tuple[int, float]] = {}

    @cached_property
    def device(self):
        device = loading.pick_device(self.settings.device)
        log.info("models run on %s", device)
        return device

    @cached_property
    def mural_painter(self):
        from ..pipelines.mural import MuralPainter

        pipe = loading.load_inpaint_pipeline(self.settings, self.device)
        themes = [t for t in THEMES if t != "custom"]
        adapters = loading.load_theme_adapters(pipe, self.settings, themes)
        latent_rgb = self._latent_rgb(self.settings.taesd_model, "sd15")
        return MuralPainter(
            pipe, adapters, max_side=self.settings.mural_max_side, latent_rgb=latent_rgb
        )

    def theme_painter(self):
        """The mural painter, with every theme adapter that has appeared in LORA_DIR since it
        was loaded: a theme trained while the worker runs (services/model_worker/training) is
        painted without a restart. Call it only on the pipeline's turn: loading an adapter
        changes the pipeline."""
        painter = self.mural_painter
        for theme in self.new_theme_folders(painter.adapters):
            if loading.load_theme_adapters(painter.pipe, self.settings, [theme]):
                painter.adapters.append(theme)
            elif (stamp := folder_stamp(Path(self.settings.lora_dir) / theme)) is not None:
                self._broken_adapters[theme] = stamp
        return painter

    def new_theme_folders(self, loaded: list[str]) -> list[str]:
        """Themes with an adapter folder that is not loaded yet (and not known to be broken)."""
        lora = Path(self.settings.lora_dir)
        found = []
        for theme in THEMES:
            if theme == "custom" or theme in loaded:
                continue
            stamp = folder_stamp(lora / theme)
            if stamp is not None and self._broken_adapters.get(theme) != stamp:
                found.append(theme)
        return found

    @cached_property
    def wall_segmenter(self):
        import torch

        from ..pipelines.wall_mask import WallSegmenter

        # segment_anything's automatic generator makes float64 tensors, which MPS lacks.
        device = torch.device("cpu") if self.device.type == "mps" else self.device
        return WallSegmenter(loading.load_sam(self.settings, device))

    @cached_property
    def sketch_painter(self):
        from ..pipelines.sketch import SketchPainter

        pipe = loading.load_sketch_pipeline(self.settings, self.device)
        latent_rgb = self._latent_rgb(self.settings.taesdxl_model, "sdxl")
        return SketchPainter(pipe, size=self.settings.sketch_size, latent_rgb=latent_rgb)

    def _latent_rgb(self, source: str, family: str):
        """Previews through the tiny autoencoder when its weights are here, else the linear
        projection (no weights). A broken decoder costs the previews' looks, not the job."""
        from ..pipelines.latent_rgb import LinearLatentRGB, TinyAutoencoderRGB

        if source and source_present(source, self.settings):
            try:
                decoder = loading.load_preview_decoder(source, self.settings, self.device)
            except (loading.ModelUnavailable, RuntimeError) as exc:
                log.warning("previews use the linear projection: %s", exc)
            else:
                log.info("previews decode with %s", source)
                return TinyAutoencoderRGB(decoder)
        return LinearLatentRGB.sd15() if family == "sd15" else LinearLatentRGB.sdxl()

    def capabilities(self, kinds: list[str]) -> WorkerCapabilities:
        """What this worker can run, for the kinds it takes, from the files it has. Without
        loading anything, except that once the painter is loaded its adapters are the truth
        (a broken adapter folder is not a theme)."""
        s = self.settings
        themes: list[str] = []
        if "mural" in kinds and source_present(s.inpaint_model, s):
            if "mural_painter" in self.__dict__:
                # Loaded adapters, and the folders the next mural job will load.
                painter = self.mural_painter
                waiting = set(self.new_theme_folders(painter.adapters))
                themes = [t for t in THEMES if t in painter.themes or t in waiting]
            else:
                lora = Path(s.lora_dir)
                themes = [t for t in THEMES if t == "custom" or (lora / t).is_dir()]
        sketch_sources = (s.sdxl_model, s.sdxl_vae, s.sketch_adapter)
        styles: list[str] = []
        if "sketch" in kinds and all(source_present(x, s) for x in sketch_sources):
            styles = list(STYLES)
        # Without SAM a mural still runs on the client's own mask.
        regions: list[MuralRegion] = (
            list(MURAL_REGIONS) if loading.sam_checkpoint_path(s).is_file() else ["mask"]
        )
        return WorkerCapabilities(
            kinds=list(kinds),
            themes=themes,
            styles=styles,
            mural_regions=regions if themes else [],
        )
