#!/usr/bin/env python3
"""ByteFormer in plain PyTorch, written from docs/MODEL.md (the model; CoreNet's numerics: no masks
take effect), for timing our C++ model against "the same model" in a machine's own Python torch
(scripts/gpu_check.sh) where CoreNet itself is not installed.

  torch_byteformer.py --check FIXTURE_DIR           logits of each fixture file alone against
                                                    CoreNet's (expected.json), 1e-4; exit 1 if not
  torch_byteformer.py --bench tiff|jpeg [--train] [--device cpu|cuda] [--batch 4] [--reps N]
                      [--bf16]                       ByteFormer-Ti samples/s on bench_model's workloads

The bench workloads are bench_model's: 1000 classes, max_num_tokens 50000, window 128, TIFF-224
(150,702 bytes, k=32) and the average ImageNet JPEG (48,564 bytes, k=4), random bytes, random
initial weights, batch 4. A train step is forward, cross entropy, backward and AdamW.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

DOWNSAMPLE = (True, True, False, True, False, True, False, True, False, True, False, False)
PRESETS = {"tiny": (192, 3, 768, 12), "small": (384, 6, 1536, 12), "base": (768, 12, 3072, 12),
           "huge": (1280, 20, 5120, 32)}


def norm(ln, x):
    """LayerNorm in float32 (what CUDA's autocast does; LibTorch 1.13's CPU autocast does not)."""
    return ln(x.float())


class Block(nn.Module):
    def __init__(self, C, H, ffn):
        super().__init__()
        self.H = H
        self.norm1 = nn.LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C)
        self.out = nn.Linear(C, C)
        self.norm2 = nn.LayerNorm(C)
        self.fc1 = nn.Linear(C, ffn)
        self.fc2 = nn.Linear(ffn, C)

    def attention(self, x):  # (G, w, C), every token of a window attends to every other
        G, w, C = x.shape
        qkv = self.qkv(x).reshape(G, w, 3, self.H, C // self.H).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (C // self.H) ** -0.5, qkv[1], qkv[2]
        attn = torch.softmax((q @ k.transpose(-2, -1)).float(), dim=-1).to(v.dtype)
        return self.out((attn @ v).transpose(1, 2).reshape(G, w, C))

    def forward(self, x, window, shift):
        B, N, C = x.shape
        pad = (-N) % window
        y = F.pad(x, (0, 0, 0, pad))
        if shift > 0:
            y = torch.roll(y, -shift, dims=1)
        y = y.reshape(-1, window, C)
        y = y + self.attention(norm(self.norm1, y))
        y = y + self.fc2(F.gelu(self.fc1(norm(self.norm2, y))))
        y = y.reshape(B, N + pad, C)
        if shift > 0:
            y = torch.roll(y, shift, dims=1)
        return y[:, :N]


class Merge(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.reduction = nn.Linear(2 * C, C, bias=False)
        self.norm = nn.LayerNorm(C)

    def forward(self, x):
        B, N, C = x.shape
        if N % 2:
            x = F.pad(x, (0, 0, 0, 1))
        return norm(self.norm, self.reduction(x.unfold(1, 2, 2).reshape(B, -1, 2 * C)))


class ByteFormer(nn.Module):
    def __init__(self, mode="tiny", n_classes=1000, k=16, windows=(128,), shifts=(0, 64) * 6,
                 downsample=DOWNSAMPLE, max_tokens=10000):
        super().__init__()
        C, H, ffn, L = PRESETS[mode]
        self.k = k
        self.windows = list(windows) * L if len(windows) == 1 else list(windows)
        self.shifts, self.downsample = list(shifts), list(downsample)
        self.embeddings = nn.Embedding(257, C, padding_idx=256)
        self.conv = nn.Conv1d(C, C, k, stride=k // 2, bias=False) if k else None
        self.pos = nn.Parameter(torch.randn(1, max_tokens, C) * C ** -0.5)
        self.blocks = nn.ModuleList(Block(C, H, ffn) for _ in range(L))
        self.merges = nn.ModuleDict({str(i): Merge(C) for i in range(L) if self.downsample[i]})
        self.norm = nn.LayerNorm(C)
        self.classifier = nn.Linear(C, n_classes)

    def forward(self, x):  # (B, L) int64, -1 = padding
        x = self.embeddings(x.masked_fill(x == -1, 256))
        if self.conv is not None:
            x = self.conv(x.transpose(1, 2)).transpose(1, 2)
        x = x + self.pos[:, : x.shape[1]]
        for i, block in enumerate(self.blocks):
            x = block(x, self.windows[i], self.shifts[i])
            if self.downsample[i]:
                x = self.merges[str(i)](x)
        return self.classifier(norm(self.norm, x).mean(1))

    def load_corenet(self, state):
        """Loads a CoreNet state_dict (CoreNet's key names, docs/MODEL.md)."""
        m = {"embeddings.weight": self.embeddings.weight, "token_reduction_net.weight": self.conv.weight,
             "post_transformer_norm.weight": self.norm.weight, "post_transformer_norm.bias": self.norm.bias,
             "classifier.weight": self.classifier.weight, "classifier.bias": self.classifier.bias}
        for i, b in enumerate(self.blocks):
            p = f"transformer.{i}."
            for ours, theirs in [(b.norm1, "pre_norm_mha.0"), (b.qkv, "pre_norm_mha.1.qkv_proj"),
                                 (b.out, "pre_norm_mha.1.out_proj"), (b.norm2, "pre_norm_ffn.0"),
                                 (b.fc1, "pre_norm_ffn.1"), (b.fc2, "pre_norm_ffn.4")]:
                m[p + theirs + ".weight"], m[p + theirs + ".bias"] = ours.weight, ours.bias
        for i, g in self.merges.items():
            p = f"downsamplers.downsample_{i}."
            m[p + "reduction.weight"], m[p + "norm.weight"], m[p + "norm.bias"] = (
                g.reduction.weight, g.norm.weight, g.norm.bias)
        missing = set(m) - set(state) - {"pos_embed.pos_embed.pos_embed"}
        if missing:
            raise ValueError(f"state_dict lacks {sorted(missing)[:5]}")
        with torch.no_grad():
            for key, param in m.items():
                param.copy_(state[key])
            pos = state["pos_embed.pos_embed.pos_embed"].reshape(1, -1, self.pos.shape[-1])
            self.pos.data = pos.clone()


def byteformer_keys(path):
    """model.classification.{n_classes, byteformer.*} of a CoreNet config: with PyYAML where the
    Python has it, else read from the config's indented lines (enough for the fixture's)."""
    try:
        import yaml

        c = yaml.safe_load(open(path))["model"]["classification"]
        return c["n_classes"], c["byteformer"]
    except ImportError:
        pass
    keys, stack, lists = {}, [], None
    for raw in open(path):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        depth, line = len(raw) - len(raw.lstrip()), raw.strip()
        if line.startswith("- ") and lists is not None:
            keys[lists].append(yaml_scalar(line[2:]))
            continue
        while stack and stack[-1][0] >= depth:
            stack.pop()
        name, _, value = line.partition(":")
        full = ".".join([s[1] for s in stack] + [name])
        if value.strip():
            keys[full], lists = yaml_scalar(value.strip()), None
        else:
            stack.append((depth, name))
            keys[full], lists = [], full
    pre = "model.classification.byteformer."
    return keys["model.classification.n_classes"], {k[len(pre):]: v for k, v in keys.items() if k.startswith(pre)}


def yaml_scalar(text):
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        return text


def check(fixture):
    n_classes, b = byteformer_keys(os.path.join(fixture, "config.yaml"))
    model = ByteFormer(b.get("mode", "tiny"), n_classes, b["conv_kernel_size"], b["window_sizes"],
                       b.get("window_shifts", [0, 64] * 6), b.get("downsample", DOWNSAMPLE),
                       b.get("max_num_tokens", 10000))
    model.load_corenet(torch.load(os.path.join(fixture, "model.pt"), map_location="cpu"))
    model.eval()
    expected = json.load(open(os.path.join(fixture, "expected.json")))
    worst = 0.0
    for f in expected["files"]:
        data = open(os.path.join(fixture, "inputs", f["file"]), "rb").read()
        with torch.no_grad():
            logits = model(torch.tensor(list(data), dtype=torch.long)[None])[0]
        worst = max(worst, (logits - torch.tensor(f["logits"])).abs().max().item())
    print(f"torch_byteformer: {len(expected['files'])} fixture files, largest |logit - CoreNet's| {worst:.2e}")
    return 0 if worst <= 1e-4 else 1


def bench(args):
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 as float32, as bench_model --device runs it
    torch.backends.cudnn.allow_tf32 = False
    k, length = (32, 150702) if args.bench == "tiff" else (4, 48564)
    model = ByteFormer("tiny", 1000, k, (128,), max_tokens=50000).to(device)
    x = torch.randint(0, 256, (args.batch, length), device=device)
    labels = torch.randint(0, 1000, (args.batch,), device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4) if args.train else None
    ctx = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if args.bf16 else torch.no_grad

    def step():
        if args.train:
            model.train()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                loss = F.cross_entropy(model(x).float(), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            model.eval()
            with torch.inference_mode(), ctx():
                model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(args.reps):
        step()
    rate = args.batch * args.reps / (time.perf_counter() - t)
    what = "train step" if args.train else "eval forward"
    print(f"torch {torch.__version__} {args.device}: {what} {args.bench} batch {args.batch}"
          f"{' bf16' if args.bf16 else ''}: {rate:.2f} samples/s")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", metavar="FIXTURE_DIR")
    p.add_argument("--bench", choices=["tiff", "jpeg"])
    p.add_argument("--train", action="store_true")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.check:
        return check(args.check)
    if args.bench:
        return bench(args)
    p.error("give --check FIXTURE_DIR or --bench tiff|jpeg")


if __name__ == "__main__":
    sys.exit(main())
