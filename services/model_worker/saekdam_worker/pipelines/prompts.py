"""Mural prompts: the theme templates and the default negative prompt.

Every prompt starts with the trigger words the theme LoRAs were trained on; without them an
adapter only half applies its style. Then come the theme's words, then what the user typed.
CLIP reads 77 tokens and drops the rest, so the fixed parts stay short and come first: a long
user prompt loses its own tail, never the style.
"""

TRIGGER_WORDS = "saekdam style, wall painting, flat design"

# The theme painted without an adapter: the user's prompt (plus the trigger words) is all of it.
CUSTOM = "custom"

THEME_WORDS: dict[str, str] = {
    "animals": "cute animals, cats, dogs, birds, rabbits",
    "ocean": "ocean, whales, fish, waves, coral",
    "nature": "nature, trees, flowers, mountains, sun",
    "play": "kids playing, playground, balloons, toys",
    "urban": "city, buildings, streets, skyline",
    "space": "space, stars, planets, rockets, moon",
    CUSTOM: "",
}

# Same order as the job contract's THEMES (saekdam_contracts.jobs); a test keeps them in step.
THEMES: tuple[str, ...] = tuple(THEME_WORDS)

DEFAULT_NEGATIVE_PROMPT = (
    "photo, photorealistic, realistic, 3d render, text, watermark, signature, logo, "
    "blurry, low quality, jpeg artifacts, deformed, ugly, extra limbs"
)


def theme_prompt(theme: str, user_prompt: str = "") -> str:
    """The full prompt for a mural: trigger words, the theme's words, the user's prompt."""
    if theme not in THEME_WORDS:
        raise ValueError(f"unknown theme {theme!r}; expected one of {', '.join(THEMES)}")
    parts = [TRIGGER_WORDS, THEME_WORDS[theme], user_prompt.strip()]
    return ", ".join(part for part in parts if part)
