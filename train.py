"""Train a placement policy: ``python train.py pretrain ...`` or ``python train.py finetune ...``.

    python train.py pretrain --designs ariane133 synthetic:0-63 --timesteps 200000 --out runs/pre
    python train.py finetune --from runs/pre/final.zip --design ariane133 --timesteps 20000 --out runs/ft
    python train.py pretrain ... --out runs/pre --resume      # continue from the newest checkpoint

The logic lives in :mod:`placer.agent.cli`; ``python train.py --help`` lists every option.
"""

import sys

from placer.agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
