"""The embedded VLM of src/nn/vlm.ts in PyTorch, for bench/train-throughput.ts: same architecture (ViT patch
encoder by reshape + linear, optional normalised-patch embedding, M×M patch merge, optional image summary, 2-layer projector, pre-LN decoder with prefix-LM mask, ReLU block MLPs, GELU (tanh) projector, untied head), same
batch shapes, AdamW + global-norm clipping. Prints one JSON line: positions/s of full training steps.

usage: python3 train_throughput_torch.py '{"imageSize":48,...,"batch":32,"textLen":34,"steps":30,"threads":1}'
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, h, f):
        super().__init__()
        self.h = h
        self.ln1 = nn.LayerNorm(c)
        self.q = nn.Linear(c, c)
        self.k = nn.Linear(c, c)
        self.v = nn.Linear(c, c)
        self.proj = nn.Linear(c, c)
        self.ln2 = nn.LayerNorm(c)
        self.fc = nn.Linear(c, f)
        self.out = nn.Linear(f, c)

    def forward(self, x, mask):
        b, s, c = x.shape
        d = c // self.h
        y = self.ln1(x)
        q = self.q(y).view(b, s, self.h, d).transpose(1, 2)  # [B, H, S, D]
        k = self.k(y).view(b, s, self.h, d).transpose(1, 2)
        v = self.v(y).view(b, s, self.h, d).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        if mask is not None:
            att = att + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, s, c)
        x = x + self.proj(y)
        return x + self.out(F.relu(self.fc(self.ln2(x))))


class Vlm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, h, f, v = cfg["dModel"], cfg["nHeads"], cfg["mlpRatio"] * cfg["dModel"], cfg["vocabSize"]
        self.p = cfg["patchSize"]
        self.m = cfg.get("mergeSize", 1)
        self.g = cfg["imageSize"] // self.p
        self.E = self.g * self.g
        self.P = self.E // (self.m * self.m)
        self.patch = nn.Linear(self.p * self.p * 3, c)
        self.patch_norm = nn.Linear(self.p * self.p * 3, c, bias=False) if cfg.get("patchNorm") else None
        self.summary = cfg.get("imageSummary", "none")
        self.film = nn.Linear(c, c, bias=False) if self.summary == "film" else None
        self.vpos = nn.Parameter(torch.randn(self.E, c) * 0.02)
        self.enc = nn.ModuleList([Block(c, h, f) for _ in range(cfg["encLayers"])])
        self.vln = nn.LayerNorm(c)
        self.proj1 = nn.Linear(self.m * self.m * c, c)
        self.proj2 = nn.Linear(c, c)
        self.no_image = nn.Parameter(torch.randn(c) * 0.02)
        self.embed = nn.Embedding(v, c)
        self.tpos = nn.Parameter(torch.randn(self.P + cfg["maxTextLen"], c) * 0.02)
        self.dec = nn.ModuleList([Block(c, h, f) for _ in range(cfg["decLayers"])])
        self.ln = nn.LayerNorm(c)
        self.head = nn.Linear(c, v, bias=False)

    def forward(self, images, ids):
        b, i = images.shape[0], images.shape[1]
        x = images.view(b, self.g, self.p, self.g, self.p, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, self.E, -1)
        e = self.patch(x)
        if self.patch_norm is not None:  # pixels normalised over each patch, as src/nn/vlm.ts
            mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
            e = e + self.patch_norm((x - mean) / torch.sqrt(var + 1e-3))
        x = e + self.vpos
        for blk in self.enc:
            x = blk(x, None)
        x = self.vln(x)
        if self.m > 1:  # M×M patch merge, as src/nn/vlm.ts
            g, m, c = self.g // self.m, self.m, x.shape[-1]
            x = x.view(b, g, m, g, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b, self.P, m * m * c)
        x = self.proj2(F.gelu(self.proj1(x), approximate="tanh"))
        t = ids.shape[1]
        s = self.P + t
        text = self.embed(ids)
        if self.summary != "none":  # image summary s: e + s, or e * (1 + s W) + s (FiLM), as src/nn/vlm.ts
            s_ = x.mean(1, keepdim=True)
            text = (text * (1 + self.film(s_)) if self.film is not None else text) + s_
        h = torch.cat([x, text], 1) + self.tpos[:s]
        allowed = torch.tril(torch.ones(s, s, dtype=torch.bool))
        allowed[: self.P, : self.P] = True
        mask = torch.zeros(s, s).masked_fill(~allowed, -1e9)
        for blk in self.dec:
            h = blk(h, mask)
        logits = self.head(self.ln(h)[:, self.P : s - 1])
        return logits


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg.get("threads", 1))
    torch.manual_seed(0)
    model = Vlm(cfg)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    b, t, v = cfg["batch"], cfg["textLen"], cfg["vocabSize"]
    images = torch.rand(b, cfg["imageSize"], cfg["imageSize"], 3) * 2 - 1
    ids = torch.randint(5, v, (b, t))
    mask = torch.zeros(b, t - 1)
    mask[:, t // 3 :] = 1

    def step():
        logits = model(images, ids)
        nll = F.cross_entropy(logits.reshape(-1, v), ids[:, 1:].reshape(-1), reduction="none").view(b, t - 1)
        loss = (nll * mask).sum() / mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(cfg["steps"]):
        step()
    secs = time.perf_counter() - t0
    per_step = secs / cfg["steps"]
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "parameters": params,
                "msPerStep": per_step * 1000,
                "positionsPerSec": b * (model.P + t) / per_step,
            }
        )
    )


if __name__ == "__main__":
    main()
