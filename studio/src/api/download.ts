/**
 * Saving a blob as a file. The blob is fetched with the token (`fetchBlob`) and
 * handed to the browser as an object URL, so a token server's files download
 * without the token ever being put in a URL. And reading only the start of a blob
 * (`fetchBlobStart`, for previews), with an HTTP Range request.
 */

import { authHeaders, getToken, reportUnauthorised } from "./auth";
import { ApiError, blobUrl, fetchBlob } from "./http";

/** Object URLs are revoked this long after the click: the click only starts the
 * download, and some browsers read the URL after it returns. */
const REVOKE_AFTER_MS = 10_000;

/** Download the blob `key` as a file named `filename`. */
export async function downloadBlob(key: string, filename: string): Promise<void> {
  const response = await fetchBlob(key);
  saveBlob(await response.blob(), filename);
}

/** Save data made in the page (a log file, say) as a file named `filename`. */
export function saveBlob(data: Blob, filename: string): void {
  const url = URL.createObjectURL(data);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = filename;
  anchor.style.display = "none";
  document.body.appendChild(anchor);
  try {
    anchor.click();
  } finally {
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  }
}

/** The first bytes of a blob: at most `limit` of them, asked for with a Range header
 * (and the token), and `truncated` when the blob is longer. A server that ignores the
 * Range and sends the whole blob is read only up to `limit`, the rest cancelled. */
export async function fetchBlobStart(
  key: string,
  limit: number,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const path = blobUrl(key);
  const init: RequestInit = { headers: { Range: `bytes=0-${limit - 1}`, ...authHeaders(getToken()) } };
  if (signal) init.signal = signal;
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (response.status === 401) reportUnauthorised();
  if (response.status === 416) return { bytes: new Uint8Array(0), truncated: false }; // an empty blob
  if (!response.ok) throw new ApiError(response.status, "blob", `GET ${path}: HTTP ${response.status}`);
  const total = totalSize(response);
  const bytes = await readAtMost(response, limit);
  return { bytes, truncated: total !== null ? total > bytes.length : bytes.length >= limit };
}

/** The whole blob's size, from a 206's Content-Range or a 200's Content-Length. */
function totalSize(response: Response): number | null {
  const range = response.headers.get("content-range");
  const whole = range ? /\/(\d+)$/.exec(range)?.[1] : response.status === 200 ? response.headers.get("content-length") : null;
  return whole ? Number(whole) : null;
}

async function readAtMost(response: Response, limit: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer()).slice(0, limit);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.length;
  }
  if (size >= limit) await reader.cancel();
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const part of parts) {
    const taken = part.subarray(0, bytes.length - offset);
    bytes.set(taken, offset);
    offset += taken.length;
  }
  return bytes;
}
