/** Files: safetensors and crash-safe writes. */
export { saveSafetensors, loadSafetensors, serializeSafetensors, parseSafetensors, readSafetensors, safetensorsChunks, fileSource, type Safetensors } from './safetensors.js';
export { readSafetensorsHeader, bytesSource, MAX_HEADER_BYTES, type ByteSource, type HeaderEntry, type SafetensorsHeader, type HeaderOptions } from './safetensorsHeader.js';
export { ST_DTYPES, WRITE_DTYPE, type StDType } from './safetensorsDtypes.js';
export { atomicWriteFileSync, removeStaleTempFiles, type AtomicWriteOptions } from './atomicWrite.js';
