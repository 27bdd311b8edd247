"""PyTorch peer for nabla's benchmark harness (bench/harness.ts).

Protocol: one JSON object per line on stdin, one per line on stdout. The
first line written is a hello: {"ready": true, "info": {...}} or
{"ready": false, "reason": "..."}. Each request is
{"id", "impl": "torch", "spec": {...}, "cfg": {...}, "threads": n}; the
reply is {"id", "perCallMs": [...], "callsPerSample": n} or {"id", "skip": why}.
A request {"id", "impl", "check": {m, n, k, transA, transB, batch, a, b}}
is answered with the product's values instead (test/bench/peers.test.ts), and
{"id", "impl", "gptcheck": {...}} with two training losses (torch_gpt.check).

Timing follows the harness's rule exactly (warm up, calibrate calls per
sample, sample within a budget); see bench/harness.ts. Run with Debian's
/usr/bin/python3 (python3-torch, with libopenblas0 for a tuned BLAS).
"""
import json
import math
import os
import sys
import time


def hello():
    try:
        import torch
    except Exception as e:  # not installed: the harness skips this peer with the reason
        return {"ready": False, "reason": f"PyTorch is not importable by {sys.executable}: {e}"}
    import re
    m = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    blas = m.group(1) if m else "unknown"
    # Debian's torch links the generic libblas.so.3, which the alternatives system points at a BLAS
    for lib in ("/usr/lib/x86_64-linux-gnu/libblas.so.3", "/usr/lib/aarch64-linux-gnu/libblas.so.3"):
        if os.path.exists(lib):
            blas += f" ({lib} -> {os.path.realpath(lib)})"
            break
    return {"ready": True, "info": {"torch": torch.__version__, "python": sys.version.split()[0], "blas": blas,
                                    "mkldnn": bool(torch.backends.mkldnn.is_available()),
                                    "impls": ["torch", "torch sdpa"]}}


def measure(run, cfg):
    """Time run() by the harness's rule; returns (ms per call per sample, calls per sample)."""
    def clock(n):
        t0 = time.perf_counter()
        for _ in range(n):
            run()
        return (time.perf_counter() - t0) * 1000.0

    warm, spent_warm = [], 0.0
    while True:
        t = clock(1)
        warm.append(t)
        spent_warm += t
        if spent_warm >= cfg["warmupMs"] or len(warm) >= 1000:
            break
    est = max(warm[-1], 1e-4)
    per = max(1, math.ceil(cfg["minSampleMs"] / est))
    per_call = [est] if len(warm) == 1 and est >= 1000 else []
    min_samples = 1 if est * per > cfg["budgetMs"] / 3 else cfg["minSamples"]
    spent = sum(per_call)
    while len(per_call) < cfg["samples"] and not (len(per_call) >= min_samples and spent >= cfg["budgetMs"]):
        dt = clock(per)
        per_call.append(dt / per)
        spent += dt
    return per_call, per


def sgemm_case(torch, spec):
    m, n, k, batch = spec["m"], spec["n"], spec["k"], spec.get("batch", 1)
    ta, tb = spec.get("transA", False), spec.get("transB", False)
    lead = [batch] if batch > 1 else []
    g = torch.Generator().manual_seed(0)
    a = torch.randn(*lead, *((k, m) if ta else (m, k)), generator=g)
    b = torch.randn(*lead, *((n, k) if tb else (k, n)), generator=g)
    x = a.transpose(-1, -2) if ta else a  # a view: torch passes the transpose flag to BLAS
    y = b.transpose(-1, -2) if tb else b
    return lambda: torch.matmul(x, y)


def elementwise_case(torch, spec):
    import torch.nn.functional as F
    op, shape = spec["op"], spec["shape"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g)
    if op == "add":
        y = torch.randn(*shape, generator=g)
        return lambda: torch.add(x, y)
    if op == "mul":
        y = torch.randn(*shape, generator=g)
        return lambda: torch.mul(x, y)
    if op == "exp":
        return lambda: torch.exp(x)
    if op == "gelu":
        return lambda: F.gelu(x, approximate="tanh")
    if op == "sum":
        return lambda: torch.sum(x, dim=-1)
    if op == "softmax":
        return lambda: torch.softmax(x, dim=-1)
    if op == "layernorm":
        d = shape[-1]
        w, bias = torch.randn(d, generator=g), torch.randn(d, generator=g)
        return lambda: F.layer_norm(x, (d,), w, bias, 1e-5)
    return None


def gpt_case(torch, spec):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_gpt import training_step
    return training_step(torch, spec)


def check(torch, c):
    """The product of given small operands (stored orientation), flattened: proves the peer computes the op it times."""
    lead = [c["batch"]] if c.get("batch", 1) > 1 else []
    ta, tb = c["transA"], c["transB"]
    a = torch.tensor(c["a"], dtype=torch.float32).reshape(*lead, *((c["k"], c["m"]) if ta else (c["m"], c["k"])))
    b = torch.tensor(c["b"], dtype=torch.float32).reshape(*lead, *((c["n"], c["k"]) if tb else (c["k"], c["n"])))
    y = torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)
    return {"values": y.reshape(-1).tolist()}


def handle(torch, req):
    spec = req["spec"]
    torch.set_num_threads(int(spec.get("threads", req.get("threads", 2))))
    family = spec["family"]
    if family in ("sgemm", "threads"):
        run = sgemm_case(torch, spec)
    elif family == "elementwise":
        run = elementwise_case(torch, spec)
    elif family == "gpt":
        run = gpt_case(torch, spec)
    elif family == "attention":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from torch_attention import attention_case
        run = attention_case(torch, spec, req.get("impl", "torch"))
    else:
        run = None
    if run is None:
        return {"skip": f"no PyTorch version of {family} {spec.get('op', '')}".strip()}
    with torch.no_grad() if family not in ("gpt", "attention") else _null():
        per_call, per = measure(run, req["cfg"])
    return {"perCallMs": per_call, "callsPerSample": per}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def main():
    h = hello()
    print(json.dumps(h), flush=True)
    if not h["ready"]:
        return
    import torch
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            if "gptcheck" in req:
                sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
                from torch_gpt import check as gpt_check
                rep = gpt_check(torch, req["gptcheck"])
            else:
                rep = check(torch, req["check"]) if "check" in req else handle(torch, req)
        except Exception as e:  # report, keep serving
            rep = {"skip": f"failed: {type(e).__name__}: {e}"}
        rep["id"] = req["id"]
        print(json.dumps(rep), flush=True)


if __name__ == "__main__":
    main()
