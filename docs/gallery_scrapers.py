"""sphinx-gallery image scraper for the pictures a tutorial writes itself.

A tutorial writes its PNGs (``save_image_grid``, ``save_interpolation_strip``, a saved and
closed matplotlib figure) into the folder named by its global ``OUT``. After every code block
this scraper copies each PNG that appeared there since the previous block into the gallery's
image folder, so the page shows it under the code that made it, as it shows open matplotlib
figures (``"image_scrapers": ("matplotlib", "gallery_scrapers.saved_pngs")`` in ``conf.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst


def saved_pngs(block, block_vars: dict, gallery_conf: dict) -> str:
    out = block_vars["example_globals"].get("OUT")
    if out is None or not Path(out).is_dir():
        return ""
    seen = block_vars.setdefault("geodl_seen_pngs", set())
    new = sorted((p for p in Path(out).glob("*.png") if p not in seen),
                 key=lambda p: p.stat().st_mtime)
    seen.update(new)
    paths = []
    for png, dest in zip(new, block_vars["image_path_iterator"]):
        shutil.copyfile(png, dest)
        paths.append(dest)
    return figure_rst(paths, gallery_conf["src_dir"])
