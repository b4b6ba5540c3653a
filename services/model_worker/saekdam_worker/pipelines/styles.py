"""Style presets for the sketch job: a prompt template and a negative prompt per style.

These are the SDXL style templates of TencentARC's T2I-Adapter-SDXL demo, which the original
Sketch2Art app used: the user's prompt goes where "{prompt}" stands, and the style's negative
prompt comes first in the negative prompt, followed by the user's own (or, when they gave none,
the shared default below).
"""

from dataclasses import dataclass

from saekdam_contracts.jobs import STYLES

# The demo's default negative prompt, used whenever the user gives none.
DEFAULT_NEGATIVE_PROMPT = (
    "extra digit, fewer digits, cropped, worst quality, low quality, glitch, deformed, mutated, "
    "ugly, disfigured"
)


@dataclass(frozen=True)
class StylePreset:
    name: str
    label: str
    prompt: str  # a template containing "{prompt}"
    negative_prompt: str


STYLE_PRESETS: dict[str, StylePreset] = {
    preset.name: preset
    for preset in (
        StylePreset("none", "(No style)", "{prompt}", ""),
        StylePreset(
            "cinematic",
            "Cinematic",
            "cinematic still {prompt} . emotional, harmonious, vignette, highly detailed, "
            "high budget, bokeh, cinemascope, moody, epic, gorgeous, film grain, grainy",
            "anime, cartoon, graphic, text, painting, crayon, graphite, abstract, glitch, "
            "deformed, mutated, ugly, disfigured",
        ),
        StylePreset(
            "3d-model",
            "3D Model",
            "professional 3d model {prompt} . octane render, highly detailed, volumetric, "
            "dramatic lighting",
            "ugly, deformed, noisy, low poly, blurry, painting",
        ),
        StylePreset(
            "anime",
            "Anime",
            "anime artwork {prompt} . anime style, key visual, vibrant, studio anime, "
            "highly detailed",
            "photo, deformed, black and white, realism, disfigured, low contrast",
        ),
        StylePreset(
            "digital-art",
            "Digital Art",
            "concept art {prompt} . digital artwork, illustrative, painterly, matte painting, "
            "highly detailed",
            "photo, photorealistic, realism, ugly",
        ),
        StylePreset(
            "photographic",
            "Photographic",
            "cinematic photo {prompt} . 35mm photograph, film, bokeh, professional, 4k, "
            "highly detailed",
            "drawing, painting, crayon, sketch, graphite, impressionist, noisy, blurry, soft, "
            "deformed, ugly",
        ),
        StylePreset(
            "pixel-art",
            "Pixel art",
            "pixel-art {prompt} . low-res, blocky, pixel art style, 8-bit graphics",
            "sloppy, messy, blurry, noisy, highly detailed, ultra textured, photo, realistic",
        ),
        StylePreset(
            "fantasy-art",
            "Fantasy art",
            "ethereal fantasy concept art of {prompt} . magnificent, celestial, ethereal, "
            "painterly, epic, majestic, magical, fantasy art, cover art, dreamy",
            "photographic, realistic, realism, 35mm film, dslr, cropped, frame, text, deformed, "
            "glitch, noise, noisy, off-center, deformed, cross-eyed, closed eyes, bad anatomy, "
            "ugly, disfigured, sloppy, duplicate, mutated, black and white",
        ),
        StylePreset(
            "neonpunk",
            "Neonpunk",
            "neonpunk style {prompt} . cyberpunk, vaporwave, neon, vibes, vibrant, stunningly "
            "beautiful, crisp, detailed, sleek, ultramodern, magenta highlights, dark purple "
            "shadows, high contrast, cinematic, ultra detailed, intricate, professional",
            "painting, drawing, illustration, glitch, deformed, mutated, cross-eyed, ugly, "
            "disfigured",
        ),
        StylePreset(
            "manga",
            "Manga",
            "manga style {prompt} . vibrant, high-energy, detailed, iconic, Japanese comic style",
            "ugly, deformed, noisy, blurry, low contrast, realism, photorealistic, "
            "Western comic style",
        ),
    )
}

# The contract (what the API accepts) and what this worker can paint must never drift apart.
assert tuple(STYLE_PRESETS) == tuple(STYLES), (
    f"style presets {sorted(STYLE_PRESETS)} differ from the contract's STYLES {sorted(STYLES)}"
)
assert all("{prompt}" in preset.prompt for preset in STYLE_PRESETS.values())


def _squash(text: str) -> str:
    return " ".join(text.split())


def style_prompts(style: str, prompt: str, negative_prompt: str | None) -> tuple[str, str]:
    """The (prompt, negative prompt) to paint `prompt` in `style`.

    The user's prompt replaces "{prompt}" (a plain replace: braces in user text stay as typed).
    The negative prompt is the style's, then the user's; `None` means the shared default and
    an empty string means nothing beyond the style's own.
    """
    try:
        preset = STYLE_PRESETS[style]
    except KeyError:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLE_PRESETS)}") from None
    positive = _squash(preset.prompt.replace("{prompt}", prompt.strip()))
    user_negative = DEFAULT_NEGATIVE_PROMPT if negative_prompt is None else negative_prompt
    negative = ", ".join(
        part for part in (_squash(preset.negative_prompt), _squash(user_negative)) if part
    )
    return positive, negative
