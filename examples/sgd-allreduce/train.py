"""Data-parallel SGD with gradient allreduce (mpi4py + numpy).

Every MPI rank holds its own shard of a synthetic classification dataset,
computes the gradient of the logistic loss on a mini-batch of its shard, and
the ranks average their gradients with MPI Allreduce before each update, so
all ranks keep identical weights: the pattern Horovod and PyTorch DDP use.

Run locally:  mpirun -np 2 /usr/bin/python3 train.py --epochs 10
Run as a job: odh training create mpijob -f examples/sgd-allreduce/mpijob.yaml --follow
"""
import argparse
import json
import socket
import sys
import time

import numpy as np
from mpi4py import MPI

try:  # the SDK's helper when it is on the path (mpijob.yaml puts it there)
    from openshift_ai.training import report
except ImportError:  # the same one-line format, by hand (docs/user/progress.md)
    def report(**fields):
        if MPI.COMM_WORLD.Get_rank() == 0:
            print("ODH_PROGRESS " + json.dumps(fields), flush=True)


def make_data(n, dim, seed):
    """A linearly separable-ish problem with label noise, same for every run."""
    rng = np.random.default_rng(seed)
    true_w = rng.normal(size=dim)
    x = rng.normal(size=(n, dim))
    logits = x @ true_w
    y = (logits + rng.normal(scale=0.5, size=n) > 0).astype(np.float64)
    return x, y


def loss_and_grad(w, x, y, l2):
    z = x @ w
    p = 1.0 / (1.0 + np.exp(-z))
    eps = 1e-12
    loss = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + 0.5 * l2 * w @ w
    grad = x.T @ (p - y) / len(y) + l2 * w
    return loss, grad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--samples", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--l2", type=float, default=1e-4)
    args = ap.parse_args()

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    print(f"rank {rank}/{size} starting on {socket.gethostname()} (MPI {MPI.Get_library_version().replace(chr(0), '').splitlines()[0].strip()})", flush=True)

    x, y = make_data(args.samples, args.dim, seed=42)
    # Hold out the last 10% for evaluation; shard the rest by rank.
    split = int(0.9 * len(y))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]
    shard = np.arange(rank, split, size)
    xs, ys = x_train[shard], y_train[shard]

    w = np.zeros(args.dim)
    rng = np.random.default_rng(1000 + rank)
    steps = max(1, len(ys) // args.batch)
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(ys))
        for s in range(steps):
            idx = order[s * args.batch:(s + 1) * args.batch]
            _, g = loss_and_grad(w, xs[idx], ys[idx], args.l2)
            avg = np.empty_like(g)
            comm.Allreduce(g, avg, op=MPI.SUM)
            w -= args.lr * avg / size
        local_loss, _ = loss_and_grad(w, xs, ys, args.l2)
        loss = comm.allreduce(local_loss, op=MPI.SUM) / size
        report(step=epoch * steps, total_steps=args.epochs * steps, epoch=epoch, total_epochs=args.epochs, loss=float(loss))
        print(f"rank {rank} epoch {epoch}/{args.epochs} shard_loss={local_loss:.4f} global_loss={loss:.4f}", flush=True)

    # Every rank must hold the same weights after synchronous SGD.
    w0 = comm.bcast(w, root=0)
    if not np.allclose(w0, w):
        print(f"rank {rank}: weights diverged from rank 0", file=sys.stderr, flush=True)
        comm.Abort(2)
    if rank == 0:
        acc = np.mean(((x_test @ w) > 0) == (y_test > 0.5))
        print(f"done: {args.epochs} epochs on {size} ranks in {time.time() - start:.2f}s, test accuracy {acc:.3f}", flush=True)
        if acc < 0.8:
            print("accuracy below 0.8: training did not converge", file=sys.stderr, flush=True)
            sys.exit(1)


if __name__ == "__main__":
    main()
