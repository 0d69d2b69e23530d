"""PyTorch reference for `sparsetrain bench train`: the dense 784-1000-1000-1000-10 MLP or LeNet-5 trained with SGD + momentum.

Usage:
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_mlp.py --intra-op-threads 1 [--model mlp|lenet-5] [--steps 50] [--reps 5]
      [--data batches.f32 --labels labels.i32]
      times `reps` runs of `steps` training steps after a warm-up and prints one JSON object;
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_mlp.py --intra-op-threads 1 --serve [--data ... --labels ...]
      prints {"ready": ...}, then for every stdin line {"steps": N} runs N steps and prints
      {"ms": ..., "loss": ...}; `sparsetrain bench train` drives one such process per configuration
      so that PyTorch's repetitions interleave with the other engines' in one run.

Threads: Debian's PyTorch does its GEMMs in OpenBLAS, whose thread pool is sized by
OPENBLAS_NUM_THREADS when the library loads and ignores torch.set_num_threads; the latter sizes
ATen's OpenMP intra-op pool (element-wise ops, reductions, the optimizer). Measured here with CPU
time (torch 1.13, OpenBLAS 0.3.21 pthread, 2 cores): OPENBLAS_NUM_THREADS=2 with
torch.set_num_threads(1) uses 2.0 CPU-seconds per second, OPENBLAS_NUM_THREADS=1 with
torch.set_num_threads(2) also 2.0 but no faster than 1 and 1. So this script takes the BLAS count
from the environment (the caller sets it per configuration) and sets only the intra-op count; it
forces nothing else (no OMP_NUM_THREADS, no OMP_WAIT_POLICY): the caller tries every combination.

The loop is the one PyTorch users write: zero_grad(), forward, F.cross_entropy, backward(), step().
The loss is read once at the end of a timed run, not every step.

Models: "mlp" (default) is Linear 784-1000-1000-1000-10 with ReLU between; "lenet-5" is the Caffe
variant sparsetrain's preset builds: Conv2d(1,20,5), MaxPool 2, Conv2d(20,50,5), MaxPool 2,
Flatten, Linear(800,500), ReLU, Linear(500,10), on inputs viewed as (N, 1, 28, 28). Both are
nn.Sequential, so parameter names ("5.weight") match sparsetrain's ("layers.5.weight"); the ready
line lists them with their shapes.

Data: float32 [pool, 784] and int32 [pool] files written by the caller (real MNIST scaled to
[0, 1]), cycled batch by batch; without them, seeded random data of the same shape.
"""
import argparse
import ctypes
import json
import os
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--intra-op-threads", type=int, required=True, help="torch.set_num_threads")
parser.add_argument("--model", choices=["mlp", "lenet-5"], default="mlp")
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--reps", type=int, default=5)
parser.add_argument("--warmup-steps", type=int, default=10)
parser.add_argument("--batch", type=int, default=128)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--momentum", type=float, default=0.9)
parser.add_argument("--data", help="float32 features, [pool, 784] row-major")
parser.add_argument("--labels", help="int32 labels, [pool]")
parser.add_argument("--serve", action="store_true")
# After a run OpenBLAS's idle threads spin for about 0.1 s (measured: 0.10 CPU-seconds while the
# process sleeps); replying only after that keeps them from slowing the contender timed next.
parser.add_argument("--settle-ms", type=float, default=150)
args = parser.parse_args()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.intra_op_threads)
torch.manual_seed(0)

WIDTHS = [784, 1000, 1000, 1000, 10]


def build_model():
    if args.model == "lenet-5":
        return nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
    layers = []
    for i in range(len(WIDTHS) - 1):
        layers.append(nn.Linear(WIDTHS[i], WIDTHS[i + 1]))
        if i < len(WIDTHS) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def load_batches():
    if args.data:
        x = torch.from_numpy(np.fromfile(args.data, dtype=np.float32).reshape(-1, WIDTHS[0]))
        y = torch.from_numpy(np.fromfile(args.labels, dtype=np.int32).astype(np.int64))
    else:
        x = torch.rand(16 * args.batch, WIDTHS[0])
        y = torch.randint(0, WIDTHS[-1], (16 * args.batch,))
    if args.model == "lenet-5":
        x = x.view(-1, 1, 28, 28)
    count = x.shape[0] // args.batch
    if count == 0:
        sys.exit(f"torch_mlp.py: the data holds {x.shape[0]} examples, fewer than one batch of {args.batch}")
    return [(x[i * args.batch:(i + 1) * args.batch].contiguous(), y[i * args.batch:(i + 1) * args.batch].contiguous()) for i in range(count)]


def openblas_state():
    """The OpenBLAS core and thread count this process runs (None when torch's BLAS is not OpenBLAS)."""
    try:
        library = ctypes.CDLL("libopenblas.so.0")  # already loaded by torch: the same instance
        library.openblas_get_corename.restype = ctypes.c_char_p
        return {"blas_core": library.openblas_get_corename().decode(), "blas_threads": library.openblas_get_num_threads()}
    except (OSError, AttributeError):
        return {"blas_core": None, "blas_threads": None}


model = build_model()
optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
batches = load_batches()
cursor = 0


def train(steps):
    """Runs `steps` ordinary training steps; returns wall milliseconds and the last loss."""
    global cursor
    loss = None
    start = time.perf_counter()
    for _ in range(steps):
        x, y = batches[cursor % len(batches)]
        cursor += 1
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    ms = (time.perf_counter() - start) * 1000
    return ms, loss.item()


def describe():
    return {"engine": "pytorch", "model": args.model, "version": torch.__version__, "intra_op_threads": torch.get_num_threads(),
            **openblas_state(), "batch": args.batch,
            "parameters": {name: list(p.shape) for name, p in model.named_parameters()}}


train(args.warmup_steps)
if args.serve:
    print(json.dumps({"ready": True, **describe()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        ms, loss = train(int(json.loads(line)["steps"]))
        time.sleep(args.settle_ms / 1000)
        print(json.dumps({"ms": ms, "loss": loss}), flush=True)
else:
    times = sorted(train(args.steps)[0] for _ in range(args.reps))
    ms = times[len(times) // 2]
    print(json.dumps({**describe(), "steps": args.steps, "ms_per_step": ms / args.steps,
                      "samples_per_s": args.steps * args.batch / (ms / 1000)}))
