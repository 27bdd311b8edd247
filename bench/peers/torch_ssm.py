"""PyTorch side of the `ssm` benchmark family (bench/ssm.ts), a peer in the
harness's protocol (bench/peers/peer.ts): a hello line, then one JSON
request per line {"id", "impl", "spec", "cfg", "threads"} answered with
{"id", "perCallMs", "callsPerSample"} or {"id", "skip"}. Timing follows the
harness's rule (bench/harness.ts), as bench/peers/torch_bench.py does.

Cases (spec["kind"]):
- "scan": forward + backward of the selective scan of Mamba written in
  PyTorch the way the authors' reference `selective_scan_ref` computes it
  (Gu & Dao, arXiv 2312.00752): Δ ← softplus(Δ + bias), ΔA = exp(Δ ⊗ A) and
  ΔB·u for every step, then a Python loop over the sequence, y + D·u, gated
  by silu(z); autograd differentiates the loop. Layout (b, d, L) as there.
  The steps are taken by unbind rather than indexing (see scan_ref).
- "lstm": forward + backward of torch.nn.LSTM (batch_first) on CPU.
Both backpropagate a fixed random cotangent of the output.
"""
import json
import sys

from torch_bench import measure  # the harness's timing rule, shared with the other PyTorch peer


def scan_ref(torch, u, delta, A, B, C, D, z, delta_bias):
    F = torch.nn.functional
    delta = F.softplus(delta + delta_bias[..., None])  # (b, d, L)
    dA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    dBu = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    x = u.new_zeros((u.shape[0], u.shape[1], A.shape[1]))
    ys = []
    # unbind, not dA[:, :, i]: autograd turns every indexing of a step into a
    # full-size zero gradient, which makes the reference's backward O(L²);
    # unbind's backward is one stack, O(L), and the math is the same
    for a, bu, c in zip(dA.unbind(2), dBu.unbind(2), C.unbind(2)):
        x = a * x + bu
        ys.append(torch.einsum("bdn,bn->bd", x, c))
    y = torch.stack(ys, dim=2)
    return (y + u * D[..., None]) * F.silu(z)


def scan_case(torch, spec):
    b, d, n, L = spec["b"], spec["d"], spec["N"], spec["L"]
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)
    xs = [r(b, d, L), r(b, d, L) * 0.5 - 1, -torch.exp(r(d, n) * 0.5), r(b, n, L), r(b, n, L), r(d), r(b, d, L), r(d) * 0.3]
    for x in xs:
        x.requires_grad_(True)
    cot = r(b, d, L)

    def run():
        for x in xs:
            x.grad = None
        scan_ref(torch, *xs).backward(cot)

    return run


def lstm_case(torch, spec):
    torch.manual_seed(0)
    layer = torch.nn.LSTM(spec["input"], spec["hidden"], batch_first=True)
    x = torch.randn(spec["batch"], spec["L"], spec["input"], requires_grad=True)
    cot = torch.randn(spec["batch"], spec["L"], spec["hidden"])

    def run():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = layer(x)
        out.backward(cot)

    return run


def main():
    try:
        import torch
    except Exception as e:
        print(json.dumps({"ready": False, "reason": f"PyTorch is not importable by {sys.executable}: {e}"}), flush=True)
        return
    print(json.dumps({"ready": True, "info": {"torch": torch.__version__, "impls": ["torch"]}}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            torch.set_num_threads(int(req.get("threads", 1)))
            spec = req["spec"]
            run = scan_case(torch, spec) if spec["kind"] == "scan" else lstm_case(torch, spec)
            per_call, per = measure(run, req["cfg"])
            reply = {"id": req["id"], "perCallMs": per_call, "callsPerSample": per}
        except Exception as e:  # report, do not die: the harness records the skip
            reply = {"id": req["id"], "skip": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
