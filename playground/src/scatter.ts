/** A small canvas scatter plot with paths, for 2-D samples and sampler trajectories. */
export function drawScatter(canvas: HTMLCanvasElement, layers: { points: Float64Array; color: string; size?: number }[], paths: Float64Array[] = [], lim = 4.5): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: W, height: H } = canvas;
  const px = (x: number): number => ((x + lim) / (2 * lim)) * W;
  const py = (y: number): number => ((lim - y) / (2 * lim)) * H;
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = 'rgba(220, 80, 40, 0.35)';
  for (const p of paths) {
    ctx.beginPath();
    for (let i = 0; i < p.length / 2; i++) {
      const x = px(Math.max(-lim, Math.min(lim, p[2 * i]!)));
      const y = py(Math.max(-lim, Math.min(lim, p[2 * i + 1]!)));
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
  for (const { points, color, size } of layers) {
    ctx.fillStyle = color;
    const s = size ?? 2;
    for (let i = 0; i < points.length / 2; i++) ctx.fillRect(px(points[2 * i]!) - s / 2, py(points[2 * i + 1]!) - s / 2, s, s);
  }
}
