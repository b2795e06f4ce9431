"""A training script for the two-process DDP tests: ``fit`` unchanged, run either plainly
(one process) or under ``torchrun --nproc_per_node=2``. Every rank saves its final parameters
to ``OUT/<case>_<rank>.pt`` (test output; fit's own files are rank 0's)."""

import argparse
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geodl.tasks import GraphPrediction, fit  # noqa: E402


def gin_task(data_root):
    from geodl.datasets import load_tu
    from geodl.models import GIN

    graphs = load_tu("MUTAG", root=data_root)
    torch.manual_seed(0)
    model = GIN(in_channels=graphs[0].num_node_features, hidden_channels=16, out_channels=2,
                num_layers=3, readout="sum")
    return model, GraphPrediction(graphs[:160], graphs[160:], batch_size=32)


def cnn_task(_):
    from geodl.bench.tensors import TensorClassification, load_digits_images
    from geodl.models import CNN, CNNConfig

    x, y, xt, yt = load_digits_images()
    torch.manual_seed(0)
    model = CNN(CNNConfig(in_channels=1, num_classes=10, channels=(8,), norm=None, hidden=32,
                          image_size=(8, 8)))
    return model, TensorClassification((x[:512], y[:512]), (xt[:64], yt[:64]), (xt, yt),
                                       batch_size=64)


class TwoOptimizerTask:
    """Manual optimisation without noise: the body and the head of a small MLP are stepped by
    their own optimizers, one after the other, on every batch (a GAN's pattern)."""

    monitor, mode = "loss", "min"

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def has_split(self, split):
        return split == "train"

    def train_batches(self):
        return list(torch.randperm(len(self.x)).split(self.batch_size))

    def configure_optimizers(self, model):
        return {"body": torch.optim.SGD(model[0].parameters(), lr=0.1),
                "head": torch.optim.Adam(model[2].parameters(), lr=0.01)}

    def train_step(self, model, idx, optimizers):
        for name in ("body", "head"):
            optimizers[name].zero_grad()
            loss = torch.nn.functional.cross_entropy(model(self.x[idx]), self.y[idx])
            loss.backward()
            optimizers[name].step()
        return loss.detach()

    def evaluate(self, model, split):
        return {"loss": float(torch.nn.functional.cross_entropy(model(self.x), self.y))}


def manual_task(_):
    from geodl.bench.tensors import load_digits_images

    x, y, _, _ = load_digits_images()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    return model, TwoOptimizerTask(x[:512].flatten(1), y[:512], batch_size=64)


def gan_task(_):
    from geodl.bench.tensors import load_digits_images
    from geodl.models import GAN, Critic, Generator
    from geodl.tasks import AdversarialTask

    x, _, _, _ = load_digits_images()
    x = (x[:256] - x.min()) / (x.max() - x.min())  # (256, 1, 8, 8) in [0, 1]
    torch.manual_seed(0)
    model = GAN(Generator(4, (8, 8), channels=(6,)), Critic((8, 8), channels=(6,)))
    return model, AdversarialTask(x, loss="wgan-gp", n_critic=2, batch_size=32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", help="comma-separated: gin, cnn, manual, gan")
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--checkpoint")
    parser.add_argument("--kill-rank", type=int)
    parser.add_argument("--data", default=os.environ.get("GEODL_SHARED_DATA"))
    args = parser.parse_args()
    rank = int(os.environ.get("RANK", "0"))
    for case in args.cases.split(","):
        run(case, args, rank)


def run(case, args, rank):
    model, task = {"gin": gin_task, "cnn": cnn_task, "manual": manual_task,
                   "gan": gan_task}[case](args.data)

    def callback(epoch, history):
        if args.kill_rank == rank and epoch == 0:
            os._exit(3)  # a rank dies mid-run, without any goodbye

    fit(model, task, epochs=args.epochs, lr=0.01, restore_best=False, progress=False,
        checkpoint=args.checkpoint, resume=args.checkpoint is not None, callback=callback)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()},
               out / f"{case}_{rank}.pt")


if __name__ == "__main__":
    main()
