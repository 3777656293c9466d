/**
 * Worker side of bench/aead_worker.ts: opens batches of sealed SecretConnection frames in place
 * with its own WASM instance and hands each buffer back (transferred, not copied).
 * @module
 */
import { WasmFrameCipher } from "../../p2p/conn/aead_wasm.ts";
import { SEALED_FRAME_SIZE, TOTAL_FRAME_SIZE } from "../../p2p/conn/frame.ts";

interface Job {
  key: Uint8Array;
  buf: ArrayBuffer;
  n: number;
}

let cipher: WasmFrameCipher | undefined;
const scope = self as unknown as Worker;
scope.onmessage = (e: MessageEvent<Job>) => {
  const { key, buf, n } = e.data;
  cipher ??= new WasmFrameCipher(key);
  const b = new Uint8Array(buf);
  const io = cipher.io;
  io.set(b.subarray(0, n * SEALED_FRAME_SIZE));
  const ok = cipher.open(n, TOTAL_FRAME_SIZE, SEALED_FRAME_SIZE, 0, 0, 0);
  b.set(io.subarray(0, ok * SEALED_FRAME_SIZE));
  scope.postMessage({ buf, ok }, [buf]);
};
