"""PyTorch CUDA on the shapes of bench/gpu/nabla.ts: sgemm/hgemm, attention
(scaled_dot_product_attention, causal, forward+backward), selective scan
reference, one LSTM layer, GPT training step. Timed with CUDA events, median of 5 samples."""
import argparse, json, statistics, sys
import os
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'peers'))

p = argparse.ArgumentParser()
p.add_argument('--out', default='gpu-torch.json')
p.add_argument('--sizes', default='1024,2048,4096,8192')
p.add_argument('--only', default=os.environ.get('TORCH_ONLY', 'gemm,attention,scan,lstm,gpt'), help='sections to run, comma-separated')
args = p.parse_args()
only = set(args.only.split(','))
dev = 'cuda'
results = []

def record(r):
    results.append(r)
    print(json.dumps(r), flush=True)

def time_ms(fn, reps, samples=5):
    fn(); torch.cuda.synchronize()
    out = []
    for _ in range(samples):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(reps): fn()
        e.record(); torch.cuda.synchronize()
        out.append(s.elapsed_time(e) / reps)
    return statistics.median(out)

record({'name': 'adapter', 'unit': torch.cuda.get_device_name(0), 'torch': torch.__version__})
# plain fp32 (no TF32): the WebGPU kernels compute in fp32 too
torch.backends.cuda.matmul.allow_tf32 = False
for dtype, name in ((torch.float32, 'sgemm'), (torch.float16, 'hgemm')) if 'gemm' in only else ():
    for n in map(int, args.sizes.split(',')):
        a = torch.randn(n, n, device=dev, dtype=dtype); b = torch.randn(n, n, device=dev, dtype=dtype)
        ms = time_ms(lambda: a @ b, 10 if n < 4096 else 4)
        record({'name': name, 'shape': f'{n}x{n}x{n}', 'dtype': str(dtype), 'ms': ms, 'value': 2 * n ** 3 / (ms * 1e9), 'unit': 'TFLOP/s'})

# attention, causal, B=4 H=16 d=64, forward + backward: the fused kernel (SDPA picks FlashAttention-2 for
# fp16/bf16 and the memory-efficient kernel for fp32) and the same composed ops as nabla's benchmark
import math
B, H, d = 4, 16, 64
for n in (1024, 2048, 4096, 8192, 16384) if 'attention' in only else ():
    for dtype in (torch.float32, torch.float16):
        q, k, v = (torch.randn(B, H, n, d, device=dev, dtype=dtype, requires_grad=True) for _ in range(3))
        def sdpa():
            torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
        ms = time_ms(sdpa, 3)
        record({'name': 'attention-fwd-bwd (sdpa)', 'shape': f'B{B} H{H} n{n} d{d} causal', 'dtype': str(dtype), 'ms': ms, 'value': 3.5 * 2 * B * H * n * n * d / (ms * 1e9), 'unit': 'TFLOP/s'})
        if n <= 4096 and dtype == torch.float32:
            mask = torch.triu(torch.full((n, n), -1e9, device=dev), diagonal=1)
            def composed():
                (torch.softmax(q @ k.transpose(-2, -1) * (1 / math.sqrt(d)) + mask, -1) @ v).sum().backward()
            ms = time_ms(composed, 3)
            record({'name': 'attention-fwd-bwd (composed ops)', 'shape': f'B{B} H{H} n{n} d{d} causal', 'dtype': str(dtype), 'ms': ms, 'value': 3.5 * 2 * B * H * n * n * d / (ms * 1e9), 'unit': 'TFLOP/s'})
        del q, k, v

# the selective scan (Mamba's reference recurrence, as in bench/peers/torch_ssm.py), forward + backward
try:
    if 'scan' not in only: raise ImportError('skipped (--only)')
    from torch_ssm import scan_ref
    b, dd, N, L = 4, 1536, 16, 1024
    g = torch.Generator(device=dev).manual_seed(0)
    r = lambda *s: torch.randn(*s, device=dev, generator=g)
    xs = [r(b, dd, L), r(b, dd, L) * 0.5 - 1, -torch.exp(r(dd, N) * 0.5), r(b, N, L), r(b, N, L), r(dd), r(b, dd, L), r(dd) * 0.3]
    for x in xs: x.requires_grad_(True)
    def scan():
        scan_ref(torch, *xs).sum().backward()
    ms = time_ms(scan, 1, 3)
    record({'name': 'selective-scan-fwd-bwd (reference loop)', 'shape': f'b{b} d{dd} N{N} L{L}', 'dtype': 'torch.float32', 'ms': ms, 'value': b * L / (ms / 1000), 'unit': 'tokens/s'})
except Exception as e:
    record({'name': 'selective-scan-fwd-bwd (reference loop)', 'error': str(e)[:300]})

# one LSTM layer (cuDNN), forward + backward, as nabla's lstm case: L=256, b=64, 512 -> 512, fp32 without TF32
try:
    if 'lstm' not in only: raise ImportError('skipped (--only)')
    torch.backends.cudnn.allow_tf32 = False
    L, b, I, Hh = 256, 64, 512, 512
    lstm = torch.nn.LSTM(I, Hh).to(dev)
    x = torch.randn(L, b, I, device=dev, requires_grad=True)
    def lstm_step():
        lstm(x)[0].sum().backward()
    ms = time_ms(lstm_step, 1, 3)
    record({'name': 'lstm-fwd-bwd', 'shape': f'L{L} b{b} I{I} H{Hh}', 'dtype': 'torch.float32', 'ms': ms, 'value': b * L / (ms / 1000), 'unit': 'tokens/s (cuDNN)'})
except Exception as e:
    record({'name': 'lstm-fwd-bwd', 'error': str(e)[:300]})

# the GPT training step of the CPU benchmark, scaled up (12 layers, d=768), fp32 without TF32
try:
    if 'gpt' not in only: raise ImportError('skipped (--only)')
    from torch_gpt import training_step
    torch.set_default_device(dev)
    spec = {'vocab': 256, 'T': 256, 'd': 768, 'heads': 12, 'layers': 12, 'batch': 8}
    step = training_step(torch, spec)
    ms = time_ms(step, 3)
    record({'name': 'gpt-train-step', 'shape': 'L12 d768 T256 B8 vocab256', 'dtype': 'torch.float32', 'ms': ms, 'value': 8 * 256 / (ms / 1000), 'unit': 'tokens/s'})
    torch.set_default_device('cpu')
except Exception as e:
    record({'name': 'gpt-train-step', 'error': str(e)[:300]})

json.dump(results, open(args.out, 'w'), indent=1)
