"""`python -m benchmarks.lecture_torch --data PATH`: the lecture's own training run, in torch.

Issue 3 asks minigrad's makemore to reach val loss <= 2.11, the figure the lectures report
(2.1057 in part 3). This runs the lecture's code as the lecture wrote it, in torch eager,
so the figure can be measured on this machine and across seeds instead of quoted:

- part3: makemore part 3's final cell. Kaiming W1 (gain 5/3), no b1, W2 x 0.01, b2 = 0,
  batchnorm gain 1 and bias 0 dividing by the unbiased std (no epsilon), running
  statistics with momentum 0.001, and the split losses evaluated with those running stats
  and, as a second figure, with statistics calibrated on the whole training set.
- minigrad: the model `python -m models.makemore train` builds (init "lecture": b1 x 0.1,
  the seed's batchnorm (x - mean) / sqrt(var_{n-1} + 1e-5), calibrated statistics), with
  torch's generator drawing the weights and the minibatches.

Every run prints one JSON line with the seed, the split losses and the seconds. A run takes
about 4 minutes on one thread; not for CI.
"""

import argparse
import json
import random
import time

import torch
import torch.nn.functional as F


def build(words, stoi, block_size=3):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def run(path, seed, variant, steps, engine="torch"):
    words = open(path).read().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    vocab_size = len(stoi)
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    splits = {"train": build(words[:n1], stoi), "val": build(words[n1:n2], stoi),
              "test": build(words[n2:], stoi)}
    Xtr, Ytr = splits["train"]

    n_embd, n_hidden, block_size = 10, 200, 3
    g = torch.Generator().manual_seed(seed)
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (
        (n_embd * block_size) ** 0.5)
    if variant == "minigrad":
        b1 = torch.randn(n_hidden, generator=g) * 0.1
    else:
        b1 = torch.zeros(n_hidden)
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
    b2 = torch.randn(vocab_size, generator=g) * 0
    bngain, bnbias = torch.ones((1, n_hidden)), torch.zeros((1, n_hidden))
    mean_run, std_run = torch.zeros((1, n_hidden)), torch.ones((1, n_hidden))
    params = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in params:
        p.requires_grad = True

    def normalise(h, mean, std_or_var):
        if variant == "minigrad":
            return bngain * (h - mean) * (std_or_var + 1e-5) ** -0.5 + bnbias
        return bngain * (h - mean) / std_or_var + bnbias

    if engine == "minigrad":
        batches = [torch.randint(0, Xtr.shape[0], (32,), generator=g) for _ in range(steps)]
        return run_minigrad(splits, [C, W1, b1, W2, b2], batches, vocab_size, seed)

    start = time.perf_counter()
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        h = C[Xb].view(32, -1) @ W1 + b1
        mean = h.mean(0, keepdim=True)
        spread = h.var(0, keepdim=True) if variant == "minigrad" else h.std(0, keepdim=True)
        with torch.no_grad():
            mean_run = 0.999 * mean_run + 0.001 * mean
            std_run = 0.999 * std_run + 0.001 * h.std(0, keepdim=True)
        logits = torch.tanh(normalise(h, mean, spread)) @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        for p in params:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < steps // 2 else 0.01
        for p in params:
            p.data += -lr * p.grad
    seconds = time.perf_counter() - start

    @torch.no_grad()
    def split_losses(mean, spread):
        out = {}
        for name, (X, Y) in splits.items():
            h = C[X].view(X.shape[0], -1) @ W1 + b1
            out[name] = round(F.cross_entropy(torch.tanh(normalise(h, mean, spread)) @ W2 + b2,
                                              Y).item(), 4)
        return out

    with torch.no_grad():
        h = C[Xtr].view(Xtr.shape[0], -1) @ W1 + b1
        cal_mean = h.mean(0, keepdim=True)
        cal_spread = h.var(0, keepdim=True) if variant == "minigrad" else h.std(0, keepdim=True)
    result = {"variant": variant, "seed": seed, "steps": steps, "seconds": round(seconds, 1),
              "calibrated": split_losses(cal_mean, cal_spread)}
    if variant == "part3":
        result["running"] = split_losses(mean_run, std_run)
    return result


def run_minigrad(splits, weights, batches, vocab_size, seed):
    """models.makemore's model and training loop, started from torch's draws: the same
    initial weights and the same minibatch indices as the torch run of this seed."""

    import minigrad
    from minigrad import optim
    from models.makemore import MLP, calibrate_batchnorm, evaluate

    model = MLP(vocab_size, hidden=200, init="lecture")
    C, W1, b1, W2, b2 = (w.detach().numpy() for w in weights)
    with minigrad.no_grad():
        model.embedding.weight[...] = C
        model.linear1.weight[...] = W1.T  # torch.nn's (out, in) layout
        model.linear1.bias[...] = b1
        model.linear2.weight[...] = W2.T
        model.linear2.bias[...] = b2
    np_splits = {k: (X.numpy(), Y.numpy()) for k, (X, Y) in splits.items()}
    Xtr, Ytr = np_splits["train"]
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    start = time.perf_counter()
    for i, ix in enumerate(batches):
        ix = ix.numpy()
        loss = model.loss(minigrad.tensor(Xtr[ix]), minigrad.tensor(Ytr[ix]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.param_groups[0]["lr"] = 0.1 if i < len(batches) // 2 else 0.01
        optimizer.step()
    seconds = time.perf_counter() - start
    calibrate_batchnorm(model, Xtr)
    losses = {k: round(evaluate(model, X, Y), 4) for k, (X, Y) in np_splits.items()}
    return {"variant": "minigrad", "engine": "minigrad", "seed": seed, "steps": len(batches),
            "seconds": round(seconds, 1), "calibrated": losses}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the word list, e.g. makemore's names.txt")
    p.add_argument("--seeds", type=int, nargs="+", default=[2147483647])
    p.add_argument("--variant", choices=["part3", "minigrad"], default="part3")
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--engine", choices=["torch", "minigrad"], default="torch",
                   help="minigrad: models.makemore trained from torch's draws (implies "
                        "--variant minigrad)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    for seed in args.seeds:
        variant = "minigrad" if args.engine == "minigrad" else args.variant
        print(json.dumps(run(args.data, seed, variant, args.steps, args.engine)), flush=True)


if __name__ == "__main__":
    main()
