"""``python -m geodl.bench.scale_worker ddp CASE OUT STEPS``: one rank of the scale suite's
DDP rows (torchrun starts it); ``... words``: the SGNS nearest-neighbour table."""

import sys

from geodl.bench.scale import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
