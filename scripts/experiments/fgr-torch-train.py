# Issue 17 diagnosis: the quick profile's FGR training replicated in PyTorch (fast on CPU) to see whether the loss rises there
# too (then it is the objective/schedule, not a tfjs gradient bug). Same net (small-cnn), data size, batch, Adam 1e-3.
# usage: /usr/bin/python3 scripts/experiments/fgr-torch-train.py [lambda ...] [--epochs E] [--lr LR] [--opt adam|sgd] [--n N]
#        [--no-rs] [--ce-on-rs] [--softplus] [--warmup STEPS]
import argparse, gzip, time
import numpy as np, torch, torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument('lambdas', nargs='*', type=float, default=[0, 300, 1000, 3000])
p.add_argument('--epochs', type=int, default=3); p.add_argument('--lr', type=float, default=1e-3)
p.add_argument('--opt', default='adam'); p.add_argument('--n', type=int, default=5000); p.add_argument('--bs', type=int, default=128)
p.add_argument('--no-rs', action='store_true'); p.add_argument('--ce-on-rs', action='store_true')
p.add_argument('--softplus', action='store_true'); p.add_argument('--warmup', type=int, default=0)
p.add_argument('--cosine', action='store_true'); p.add_argument('--igr', action='store_true'); p.add_argument('--beta', type=float, default=1); p.add_argument('--seed', type=int, default=0); p.add_argument('--trace', action='store_true')
a = p.parse_args()
torch.set_num_threads(1)
D = '/usr/share/datasets/fashion-mnist/'
def idx(f, off): return np.frombuffer(gzip.open(D + f).read(), np.uint8, offset=off)
Xtr = idx('train-images-idx3-ubyte.gz', 16).reshape(-1, 28, 28, 1).astype(np.float32) / 255
Ytr = idx('train-labels-idx1-ubyte.gz', 8).astype(np.int64)
Xte = idx('t10k-images-idx3-ubyte.gz', 16).reshape(-1, 28, 28, 1).astype(np.float32) / 255
Yte = idx('t10k-labels-idx1-ubyte.gz', 8).astype(np.int64)
rng = np.random.default_rng(a.seed)
sel = rng.permutation(len(Xtr))[:a.n]
X, Y = torch.tensor(Xtr[sel]), torch.tensor(Ytr[sel])
XT, YT = torch.tensor(Xte[:1000]), torch.tensor(Yte[:1000])
act = (lambda t: F.softplus(t, beta=a.beta)) if a.softplus else F.relu

def pad_same(h): return F.pad(h, (1, 2, 1, 2))
def init(seed):
    g = torch.Generator().manual_seed(seed)
    he = lambda shape, fan: (torch.randn(*shape, generator=g) * (2 / fan) ** 0.5).requires_grad_()
    z = lambda n: torch.zeros(n, requires_grad=True)
    return [he((16, 1, 5, 5), 25), z(16), he((32, 16, 5, 5), 400), z(32), he((1568, 100), 1568), z(100), he((100, 10), 100), z(10)]
def logits(x, W):
    h = x.permute(0, 3, 1, 2)
    h = act(F.conv2d(pad_same(h), W[0], W[1], stride=2)); h = act(F.conv2d(pad_same(h), W[2], W[3], stride=2))
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
    return act(h @ W[4] + W[5]) @ W[6] + W[7]
def fgr(x, y, W):
    B, H, Wd, C = x.shape
    xi = x.clone().requires_grad_()
    g = torch.autograd.grad(F.cross_entropy(logits(xi, W), y), xi, create_graph=True)[0]
    dx = torch.cat([x[:, :, 1:] - x[:, :, :-1], torch.zeros(B, H, 1, C)], 2)
    dy = torch.cat([x[:, 1:] - x[:, :-1], torch.zeros(B, 1, Wd, C)], 1)
    if a.igr: return g.pow(2).sum() / B  # IGR with FGR's batch-mean scaling (= doubleBackprop weight 2 lambda / B^2)
    fw = torch.stack([(g * dx).sum(3) * (Wd - 1) / 2, (g * dy).sum(3) * (H - 1) / 2], -1)
    return fw.pow(2).sum() / B
def random_start(x, sigma):
    B, H, Wd, _ = x.shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, Wd), indexing='ij')
    grid = torch.stack([xs, ys], -1)[None] + torch.randn(B, H, Wd, 2) * sigma
    return F.grid_sample(x.permute(0, 3, 1, 2), grid, align_corners=True, padding_mode='zeros').permute(0, 2, 3, 1).clamp(0, 1).detach()

for lam in a.lambdas:
    torch.manual_seed(a.seed)
    W = init(a.seed)
    opt = torch.optim.Adam(W, lr=a.lr) if a.opt == 'adam' else torch.optim.SGD(W, lr=a.lr, momentum=0.9, weight_decay=5e-4)
    step, t0, hist = 0, time.time(), []
    for ep in range(a.epochs):
        perm = torch.randperm(a.n)
        sums = np.zeros(3); k = 0
        for i in range(0, a.n, a.bs):
            b = perm[i:i + a.bs]; x, y = X[b], Y[b]
            xs = random_start(x, 0.01) if not a.no_rs else x
            ce = F.cross_entropy(logits(xs if a.ce_on_rs else x, W), y)
            reg = fgr(xs, y, W) if lam > 0 else torch.zeros(())
            w = lam * min(1, (step + 1) / a.warmup) if a.warmup else lam
            tot = ce + w * reg
            if a.cosine:
                for gp in opt.param_groups: gp['lr'] = a.lr * 0.5 * (1 + np.cos(np.pi * step / (a.epochs * -(-a.n // a.bs))))
            opt.zero_grad(); tot.backward(); opt.step()
            sums += [tot.item(), ce.item(), reg.item()]; k += 1; step += 1
            if a.trace and step % 5 == 0: print(f'    step {step}: ce {ce.item():.3f} reg {reg.item():.3e} total {tot.item():.3f}')
        with torch.no_grad(): acc = (logits(XT, W).argmax(1) == YT).float().mean().item()
        hist.append((*(sums / k), acc))
    print(f'lambda {lam:g}: ' + ' | '.join(f'ep{e+1} loss {h[0]:.3f} ce {h[1]:.3f} reg {h[2]:.2e} test {h[3]:.3f}' for e, h in enumerate(hist)) + f'  ({time.time()-t0:.0f}s)')
