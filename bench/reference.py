"""PyTorch CPU twin of bench/workloads.ts: same net, shapes, ops and losses.

`--serve` (what `npm run bench -- --reference` runs): a long-lived process driven by bench/bench.ts over stdin/stdout, one
JSON object a line each way, so that the node bench can interleave tfjs and PyTorch timings (ABAB) cheaply; see serve().
`--check`: losses and gradient norms on given weights (test/bench/parity.test.ts). Exit code 3 with a message on stderr
when torch is missing.
tfjs 'same' padding for a 5x5 stride-2 conv on even sizes pads 1 before and 2 after: done here with F.pad, not padding=2.
"""
import argparse
import json
import resource
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


def time_steps(step, repeats):
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def info():
    """What the bench JSON records about this side."""
    return {
        "torch": torch.__version__, "python": sys.version.split()[0], "executable": sys.executable,
        "defaultThreads": torch.get_num_threads(), "interopThreads": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(), "openmp": torch.backends.openmp.is_available(),
        # For test/bench: the twin must define the same workloads with the same constants as bench/workloads.ts.
        "workloads": WORKLOADS, "constants": {"LAMBDA": LAMBDA, "LEARNING_RATE": LEARNING_RATE, "PGD": PGD},
    }


def serve(inp, out):
    """Requests, one JSON object a line on `inp`; one answer a line on `out`:
      {"op": "info"} -> info()
      {"op": "setup", "workload": name, "batch": B} -> {"ok": true}; builds the workload (one net, kept until the next setup)
      {"op": "run", "threads": T, "repeats": N} -> {"ms": [N step times]} with torch.set_num_threads(T) (warm-up is a run too)
      {"op": "rss"} -> {"peakRssMiB": peak RSS of this process}
    A bad request answers {"error": message} and the process keeps serving; end of input ends it."""
    step = None
    for line in inp:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "info":
                ans = info()
            elif op == "setup":
                step = make(req["workload"], int(req["batch"]))
                ans = {"ok": True}
            elif op == "run":
                if step is None:
                    raise ValueError("run before setup: send {\"op\": \"setup\", \"workload\": ..., \"batch\": ...} first")
                torch.set_num_threads(int(req["threads"]))
                ans = {"ms": time_steps(step, int(req["repeats"])), "threads": torch.get_num_threads()}
            elif op == "rss":
                ans = {"peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
            else:
                raise ValueError(f"unknown op {op!r}: use info, setup, run or rss")
        except Exception as e:  # answer, keep serving: the bench reports it
            ans = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(ans) + "\n")
        out.flush()


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
    p.add_argument("--serve", action="store_true", help="serve timing requests (JSON lines) on stdin/stdout: see serve()")
    a = p.parse_args()
    if a.check:
        json.dump(check(json.load(sys.stdin)), sys.stdout)
    elif a.serve:
        serve(sys.stdin, sys.stdout)
    else:
        p.error("pass --serve (driven by `npm run bench -- --reference`) or --check")


if __name__ == "__main__":
    main()
