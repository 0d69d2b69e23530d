"""PyTorch reference for `sparsetrain bench train`: the dense 784-1000-1000-1000-10 MLP trained with SGD + momentum.

Usage:
  /usr/bin/python3 bench/torch_mlp.py --threads 1 [--steps 50] [--reps 5] [--data batches.f32 --labels labels.i32]
      times `reps` runs of `steps` training steps after a warm-up and prints one JSON object;
  /usr/bin/python3 bench/torch_mlp.py --threads 1 --serve [--data ... --labels ...]
      prints {"ready": ...}, then for every stdin line {"steps": N} runs N steps and prints
      {"ms": ..., "loss": ...}; `sparsetrain bench train` drives it this way so that PyTorch's
      repetitions interleave with the other engines' in one run.

Threads: torch.set_num_threads sets the intra-op (OpenMP) pool, but Debian's PyTorch does its
GEMMs in OpenBLAS, whose own thread pool ignores it (measured: 1.99 CPU-seconds per second with
torch.set_num_threads(1)). So the BLAS and OpenMP thread counts are fixed through the environment
before torch is imported, and idle OpenMP threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE):
GNU OpenMP's spinning workers otherwise starve OpenBLAS's on two cores (measured here: 2 threads
45 ms/step spinning vs 15.5 ms/step passive, 1 thread 24 ms/step). Both choices favour PyTorch.

Data: float32 [pool, 784] and int32 [pool] files written by the caller (real MNIST scaled to
[0, 1]), cycled batch by batch; without them, seeded random data of the same shape.
"""
import argparse
import json
import os
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, required=True)
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--reps", type=int, default=5)
parser.add_argument("--warmup-steps", type=int, default=10)
parser.add_argument("--batch", type=int, default=128)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--momentum", type=float, default=0.9)
parser.add_argument("--data", help="float32 features, [pool, 784] row-major")
parser.add_argument("--labels", help="int32 labels, [pool]")
parser.add_argument("--serve", action="store_true")
args = parser.parse_args()

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(args.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402  (after the thread variables, which the libraries read when loaded)
import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(0)

WIDTHS = [784, 1000, 1000, 1000, 10]


def build_model():
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
    count = x.shape[0] // args.batch
    if count == 0:
        sys.exit(f"torch_mlp.py: the data holds {x.shape[0]} examples, fewer than one batch of {args.batch}")
    return [(x[i * args.batch:(i + 1) * args.batch].contiguous(), y[i * args.batch:(i + 1) * args.batch].contiguous()) for i in range(count)]


model = build_model()
optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
batches = load_batches()
cursor = 0


def train(steps):
    """Runs `steps` ordinary training steps; returns wall milliseconds and the last loss."""
    global cursor
    loss_value = float("nan")
    start = time.perf_counter()
    for _ in range(steps):
        x, y = batches[cursor % len(batches)]
        cursor += 1
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        loss_value = loss.item()
    return (time.perf_counter() - start) * 1000, loss_value


def describe():
    return {"engine": "pytorch", "version": torch.__version__, "threads": args.threads, "batch": args.batch}


train(args.warmup_steps)
if args.serve:
    print(json.dumps({"ready": True, **describe()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        ms, loss = train(int(json.loads(line)["steps"]))
        print(json.dumps({"ms": ms, "loss": loss}), flush=True)
else:
    times = sorted(train(args.steps)[0] for _ in range(args.reps))
    ms = times[len(times) // 2]
    print(json.dumps({**describe(), "steps": args.steps, "ms_per_step": ms / args.steps,
                      "samples_per_s": args.steps * args.batch / (ms / 1000)}))
