"""PyTorch CPU twin of bench/workloads.ts: same net, shapes, ops and losses. Prints JSON on stdout.

Run by `npm run bench -- --reference` (bench/bench.ts). Exit code 3 with a message on stderr when torch is missing.
tfjs 'same' padding for a 5x5 stride-2 conv on even sizes pads 1 before and 2 after: done here with F.pad, not padding=2.
"""
import argparse
import json
import resource
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    print(f"PyTorch is not importable by {sys.executable} ({e}): on Debian, apt-get install python3-torch", file=sys.stderr)
    sys.exit(3)

WORKLOADS = ["train", "double-backprop", "jacobian", "pgd10", "inference"]
LAMBDA = 0.1
LEARNING_RATE = 1e-3
PGD = {"eps": 0.3, "step": 0.075, "steps": 10}


def same_pad(x, k, s):
    """tfjs/TensorFlow 'same' padding (extra pixel after) for NCHW input."""
    h, w = x.shape[2], x.shape[3]
    ph = max((-(-h // s) - 1) * s + k - h, 0)
    pw = max((-(-w // s) - 1) * s + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class ReferenceNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 16, 5, stride=2)
        self.c2 = torch.nn.Conv2d(16, 32, 5, stride=2)
        self.f1 = torch.nn.Linear(7 * 7 * 32, 100)
        self.f2 = torch.nn.Linear(100, 10)
        for m in (self.c1, self.c2, self.f1, self.f2):
            torch.nn.init.kaiming_normal_(m.weight)
            torch.nn.init.zeros_(m.bias)

    def forward(self, x):
        h = F.relu(self.c1(same_pad(x, 5, 2)))
        h = F.relu(self.c2(same_pad(h, 5, 2)))
        h = F.relu(self.f1(h.flatten(1)))
        return self.f2(h)


def mean_squared_norm(g):
    return g.flatten(1).pow(2).sum(1).mean()


def make(name, batch, seed=1):
    torch.manual_seed(seed)
    net = ReferenceNet()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    gen = torch.Generator().manual_seed(seed * 1000)
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)

    def train(loss_fn):
        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            opt.step()
            return loss.item()
        return step

    if name == "train":
        return train(lambda: F.cross_entropy(net(x), y))
    if name == "double-backprop":
        def loss():
            xx = x.detach().requires_grad_(True)
            ce_sum = F.cross_entropy(net(xx), y, reduction="sum")
            (g,) = torch.autograd.grad(ce_sum, xx, create_graph=True)
            return ce_sum / batch + LAMBDA * mean_squared_norm(g)
        return train(loss)
    if name == "jacobian":
        def loss():
            r = torch.randn(batch, 10, generator=gen)
            v = r / r.norm(dim=1, keepdim=True)
            xx = x.detach().requires_grad_(True)
            logits = net(xx)
            (g,) = torch.autograd.grad(logits, xx, grad_outputs=v, create_graph=True)
            return F.cross_entropy(logits, y) + LAMBDA * mean_squared_norm(g)
        return train(loss)
    if name == "pgd10":
        for p in net.parameters():
            p.requires_grad_(False)

        def step():
            eps, a = PGD["eps"], PGD["step"]
            lo, hi = (x - eps).clamp(0, 1), (x + eps).clamp(0, 1)
            xa = (x + torch.empty_like(x).uniform_(-eps, eps, generator=gen)).clamp(0, 1)
            for _ in range(PGD["steps"]):
                xa.requires_grad_(True)
                (g,) = torch.autograd.grad(F.cross_entropy(net(xa), y, reduction="sum"), xa)
                xa = torch.minimum(torch.maximum(xa.detach() + a * g.sign(), lo), hi)
            return float(xa[0, 0, 0, 0])
        return step
    if name == "inference":
        def step():
            with torch.no_grad():
                return float(net(x)[0, 0])
        return step
    raise ValueError(f"unknown workload {name!r}: use one of {WORKLOADS}")


def time_workload(name, batch, warmup, repeats):
    step = make(name, batch)
    for _ in range(warmup):
        step()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def check(spec):
    """Losses and per-parameter gradient norms on given tfjs weights/inputs (layouts converted), for the parity test."""
    net = ReferenceNet()
    t = lambda k: torch.tensor(spec[k]["data"], dtype=torch.float32).reshape(spec[k]["shape"])
    w1, b1, w2, b2, w3, b3, w4, b4 = [t(f"p{i}") for i in range(8)]
    with torch.no_grad():
        net.c1.weight.copy_(w1.permute(3, 2, 0, 1)); net.c1.bias.copy_(b1)
        net.c2.weight.copy_(w2.permute(3, 2, 0, 1)); net.c2.bias.copy_(b2)
        # tfjs flattens NHWC (h, w, c), torch NCHW (c, h, w).
        net.f1.weight.copy_(w3.reshape(7, 7, 32, 100).permute(3, 2, 0, 1).reshape(100, -1)); net.f1.bias.copy_(b3)
        net.f2.weight.copy_(w4.t()); net.f2.bias.copy_(b4)
    x = t("x").permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(spec["y"]["data"], dtype=torch.int64)
    v = t("v")
    batch = x.shape[0]

    def double_backprop():
        xx = x.detach().requires_grad_(True)
        ce_sum = F.cross_entropy(net(xx), y, reduction="sum")
        (g,) = torch.autograd.grad(ce_sum, xx, create_graph=True)
        return ce_sum / batch + LAMBDA * mean_squared_norm(g)

    def jacobian():
        xx = x.detach().requires_grad_(True)
        logits = net(xx)
        (g,) = torch.autograd.grad(logits, xx, grad_outputs=v, create_graph=True)
        return F.cross_entropy(logits, y) + LAMBDA * mean_squared_norm(g)

    out = {}
    params = [net.c1.weight, net.c1.bias, net.c2.weight, net.c2.bias, net.f1.weight, net.f1.bias, net.f2.weight, net.f2.bias]
    for name, fn in [("train", lambda: F.cross_entropy(net(x), y)), ("double-backprop", double_backprop), ("jacobian", jacobian)]:
        loss = fn()
        grads = torch.autograd.grad(loss, params)
        out[name] = {"loss": loss.item(), "gradNorms": [g.norm().item() for g in grads]}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--check", action="store_true", help="read tfjs weights/inputs as JSON on stdin, print losses and gradient norms")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", default="1,2")
    a = p.parse_args()
    if a.check:
        json.dump(check(json.load(sys.stdin)), sys.stdout)
        return
    results = []
    for name in a.workloads.split(","):
        by_threads = {}
        for t in [int(s) for s in a.threads.split(",")]:
            torch.set_num_threads(t)
            by_threads[t] = time_workload(name, a.batch, a.warmup, a.repeats)
        best = min(by_threads, key=lambda t: statistics.median(by_threads[t]))
        ms = by_threads[best]
        med = statistics.median(ms)
        results.append({
            "workload": name, "medianMs": med, "minMs": min(ms), "maxMs": max(ms), "runs": len(ms),
            "throughput": a.batch * 1000 / med,
            "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": best, "medianByThreads": {str(t): statistics.median(v) for t, v in by_threads.items()},
        })
    json.dump({"torch": torch.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
