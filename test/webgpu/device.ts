/**
 * The WebGPU backend for tests. Without a GPU, tests run on SwiftShader (a
 * CPU Vulkan driver shipped by Debian's chromium package): when no Vulkan
 * driver is chosen explicitly and that one exists, it is selected before Dawn
 * loads, so results do not depend on what else the machine has.
 */
import { existsSync } from 'node:fs';
import { webgpu, webgpuUnavailableReason, type WebGpuBackend } from '../../src/backends/webgpu/index.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

export async function gpuForTests(): Promise<{ gpu: WebGpuBackend | null; reason: string }> {
  if (!process.env.VK_ICD_FILENAMES && !process.env.NABLA_WEBGPU_NATIVE && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
  const gpu = await webgpu();
  if (gpu) gpu.notices = false;
  return { gpu, reason: gpu ? '' : `no WebGPU adapter: ${webgpuUnavailableReason()}` };
}
