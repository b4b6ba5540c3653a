"""Theme LoRA training for the inpainting model (imported as `saekdam_training`).

`train_theme_lora.py` is the script (in the style of the diffusers examples: `parse_args()`,
then `main()`); the modules beside it are its parts, each tested on tiny models offline:
`data` (images, captions, crops), `masks` (wall-shaped, rectangle and stroke masks),
`inputs` (the UNet's inputs exactly as the inpainting pipeline builds them).
"""
