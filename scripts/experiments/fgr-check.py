# Issue 17 diagnosis: recomputes the FULL FGR training loss (CE on clean x + lambda * FGR at the dumped random start) and its
# weight gradient in PyTorch float64 from fgr-dump.ts's output, and compares with the tfjs wasm gradient.
# usage: /usr/bin/python3 scripts/experiments/fgr-check.py DUMP.json
import json, sys
import torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
d = json.load(open(sys.argv[1]))
T = lambda a: torch.tensor(a['data'], dtype=torch.float64).reshape(a['shape'])
x, xs, y = T(d['x']), T(d['xs']), torch.tensor(d['y'], dtype=torch.long)
W = [T(w).requires_grad_() for w in d['weights']]

def same(h, k, s):  # TF 'same' padding amounts (before, after)
    out = -(-h // s); tot = max((out - 1) * s + k - h, 0); return tot // 2, tot - tot // 2

IGR = d.get('method') == 'igr'
act = (lambda t: F.softplus(t, beta=4)) if IGR else F.relu

def logits(xn, W):  # xn NHWC
    h = xn.permute(0, 3, 1, 2)
    for (w, b) in ((W[0], W[1]), (W[2], W[3])):
        a, bb = same(h.shape[2], 5, 2)
        h = act(F.conv2d(F.pad(h, (a, bb, a, bb)), w.permute(3, 2, 0, 1), b, stride=2))
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
    h = act(h @ W[4] + W[5])
    return h @ W[6] + W[7]

def flow_grad(xin, W, form):
    B, H, Wd, C = xin.shape
    if form == 'warp':
        flow = torch.zeros(B, H, Wd, 2, requires_grad=True)
        ys, xs_ = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, Wd), indexing='ij')
        grid = torch.stack([xs_, ys], -1)[None] + flow
        z = F.grid_sample(xin.permute(0, 3, 1, 2), grid, align_corners=True, padding_mode='border').permute(0, 2, 3, 1)
        L = F.cross_entropy(logits(z, W), y)
        return torch.autograd.grad(L, flow, create_graph=True)[0]
    xi = xin.clone().requires_grad_()
    L = F.cross_entropy(logits(xi, W), y)
    g = torch.autograd.grad(L, xi, create_graph=True)[0]
    dx = torch.cat([xin[:, :, 1:] - xin[:, :, :-1], torch.zeros(B, H, 1, C)], 2)
    dy = torch.cat([xin[:, 1:] - xin[:, :-1], torch.zeros(B, 1, Wd, C)], 1)
    return torch.stack([(g * dx).sum(3) * (Wd - 1) / 2, (g * dy).sum(3) * (H - 1) / 2], -1)

lam = d['lambda']
for form in ('closed',):  # torch 1.13 has no double backward through grid_sample
    ce = F.cross_entropy(logits(x, W), y)
    if IGR:  # doubleBackprop's value: 1/2 mean_b ||dCE_b/dx_b||^2, weight 2 lambda / B^2
        xi = x.clone().requires_grad_()
        g = torch.autograd.grad(F.cross_entropy(logits(xi, W), y, reduction='sum'), xi, create_graph=True)[0]
        reg = 0.5 * g.pow(2).sum() / x.shape[0]
        lam = 2 * d['lambda'] / x.shape[0] ** 2
    else:
        reg = flow_grad(xs, W, form).pow(2).sum() / x.shape[0]
    total = ce + lam * reg
    gs = torch.autograd.grad(total, W)
    print(f"{form}: ce {ce.item():.6f} (tfjs {d['ce']:.6f})  reg {reg.item():.6e} (tfjs {d['reg']:.6e})  total {total.item():.6f} (tfjs {d['total']:.6f})")
    for i, (g, gt) in enumerate(zip(gs, d['grads'])):
        gt = T(gt)
        rel = (g - gt).norm() / g.norm().clamp_min(1e-30)
        cos = (g * gt).sum() / (g.norm() * gt.norm()).clamp_min(1e-30)
        print(f"  var {i} {list(g.shape)}: |g| {g.norm():.4e} rel err {rel:.2e} cos {cos:.6f}")
    # How much of the gradient is the penalty's
    gce = torch.autograd.grad(F.cross_entropy(logits(x, W), y), W)
    print('  |grad CE| per var', ' '.join(f'{g.norm():.3e}' for g in gce))
