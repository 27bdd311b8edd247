"""The benchmark GPT (bench/gptModel.ts) in PyTorch, as nanoGPT writes it:
pre-LN blocks, learned positions, separate q/k/v projections, GELU (tanh
form) MLP of width 4d, additive causal mask, final LayerNorm, untied head;
torch.optim.AdamW(lr 3e-4, betas (0.9, 0.95), eps 1e-8, weight decay 0.1 on
every parameter). Same shapes, mask and init scales as the nabla and
TensorFlow.js versions.
"""
import math


def training_step(torch, spec, weights=None, tokens=None):
    """Build the model of `spec` on random tokens; return a function doing one training step (it returns the loss).

    `weights` ({name: [shape, flat values]}) and `tokens` ((idx, targets) as flat lists) replace the
    random ones: test/bench/gptParity.test.ts uses them to hold this model equal to nabla's.
    """
    import torch.nn as nn
    import torch.nn.functional as F

    V, T, d, H, L, B = spec["vocab"], spec["T"], spec["d"], spec["heads"], spec["layers"], spec["batch"]
    dh = d // H

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x, mask):
            heads = lambda t: t.view(B, T, H, dh).transpose(1, 2)  # [B, H, T, dh]
            h = self.ln1(x)
            q, k, v = heads(self.wq(h)), heads(self.wk(h)), heads(self.wv(h))
            att = torch.softmax((q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dh)) + mask, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, d)
            x = x + self.wo(y)
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(V, d), nn.Embedding(T, d)
            nn.init.normal_(self.tok.weight, std=0.02)
            nn.init.normal_(self.pos.weight, std=0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(L))
            self.lnf = nn.LayerNorm(d)
            self.head = nn.Linear(d, V, bias=False)
            self.register_buffer("mask", torch.triu(torch.full((T, T), -1e9), diagonal=1))

        def forward(self, idx):
            x = self.tok(idx) + self.pos.weight
            for b in self.blocks:
                x = b(x, self.mask)
            return self.head(self.lnf(x))

    torch.manual_seed(0)
    model = GPT()
    if weights is not None:
        state = {k: torch.tensor(v, dtype=torch.float32).reshape(shape) for k, (shape, v) in weights.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or set(missing) != {"mask"}:
            raise ValueError(f"weights do not fit the model: missing {missing}, unexpected {unexpected}")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    idx = torch.randint(0, V, (B, T))
    targets = torch.randint(0, V, (B * T,))
    if tokens is not None:
        idx = torch.tensor(tokens[0], dtype=torch.long).reshape(B, T)
        targets = torch.tensor(tokens[1], dtype=torch.long)

    def step():
        loss = F.cross_entropy(model(idx).view(B * T, V), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def check(torch, c):
    """Losses of two consecutive training steps from given weights and tokens (the second after one AdamW update)."""
    step = training_step(torch, c["spec"], c["weights"], (c["idx"], c["targets"]))
    return {"values": [float(step()), float(step())]}
