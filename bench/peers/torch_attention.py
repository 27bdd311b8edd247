"""PyTorch side of nabla's attention benchmark (bench/attention.ts).

Forward + backward of one attention call, B x H x n x d, float32 on the CPU:
- impl "torch": naive attention, as written in textbooks and many models:
  S = QK^T / sqrt(d), masked_fill(upper triangle, -inf) when causal,
  P = softmax(S), O = PV; the full n x n square is formed (and kept for
  the backward pass).
- impl "torch sdpa": torch.nn.functional.scaled_dot_product_attention
  (is_causal), PyTorch's fused entry point; torch 1.13 has it only as the
  private F._scaled_dot_product_attention (which, on the CPU, still forms the
  square: its math path), used when the public one is missing.
The cotangent is a fixed random tensor, as in nabla's case.
"""
import math


def attention_case(torch, spec, impl):
    import torch.nn.functional as F
    if spec.get("op") != "sdpa":
        return None
    b, h, n, d, causal = spec["b"], spec["h"], spec["n"], spec["d"], spec["causal"]
    g = torch.Generator().manual_seed(0)
    q, k, v, w = (torch.randn(b, h, n, d, generator=g) for _ in range(4))
    for t in (q, k, v):
        t.requires_grad_(True)
    mask = torch.ones(n, n, dtype=torch.bool).triu(1) if causal else None
    scale = 1.0 / math.sqrt(d)

    def naive():
        s = torch.matmul(q, k.transpose(-1, -2)) * scale
        if mask is not None:
            s = s.masked_fill(mask, float("-inf"))
        return torch.matmul(torch.softmax(s, dim=-1), v)

    def sdpa():
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return F._scaled_dot_product_attention(q, k, v, is_causal=causal)[0]

    f = sdpa if impl == "torch sdpa" else naive

    def run():
        for t in (q, k, v):
            t.grad = None
        f().backward(w)

    return run
