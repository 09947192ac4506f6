/**
 * Saving a blob as a file. The blob is fetched with the token (`fetchBlob`) and
 * handed to the browser as an object URL, so a token server's files download
 * without the token ever being put in a URL.
 */

import { fetchBlob } from "./http";

/** Object URLs are revoked this long after the click: the click only starts the
 * download, and some browsers read the URL after it returns. */
const REVOKE_AFTER_MS = 10_000;

/** Download the blob `key` as a file named `filename`. */
export async function downloadBlob(key: string, filename: string): Promise<void> {
  const response = await fetchBlob(key);
  const url = URL.createObjectURL(await response.blob());
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
