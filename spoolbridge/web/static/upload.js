// A small tus 1.0.0 client: create, then PATCH the rest of the file as one request body that the browser
// streams from disk (the page never reads the file; tus-js-client does the same by default). The server
// keeps every byte that arrived before a connection drops, so after any failure the client asks HEAD for
// the server's offset and sends the rest from there. One request is faster than 16 MiB chunks
// (BENCHMARKS.md, "Upload page"). The upload's address is kept in localStorage, so choosing the same file
// after a reload resumes it; so does an upload the server lists as unfinished (`known`), which a page
// opened in another tab or browser learns from GET api/uploads. Cancelling (`signal`) stops the request
// and deletes the upload and its bytes on the server.

const TUS = { "Tus-Resumable": "1.0.0" };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class UploadRefused extends Error {} // the server said no, with its reason: retrying cannot help
// the person cancelled it; `outcome`: "deleted" (the server keeps nothing of it), "complete" (too late:
// the file had arrived) or "kept" (the server did not confirm; it still lists the upload)
export class UploadCancelled extends Error {
  constructor(outcome) { super("cancelled"); this.outcome = outcome; }
}

const b64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const storageKey = (file, dataset) => `spoolbridge-upload:${dataset}:${file.name}:${file.size}:${file.lastModified}`;

async function reason(response) {
  const text = (await response.text()).trim();
  return text || `the server answered ${response.status}`;
}

function patchRest(location, offset, blob, onBytes, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.onabort = () => reject(new UploadCancelled("kept"));
    xhr.open("PATCH", location);
    xhr.setRequestHeader("Tus-Resumable", "1.0.0");
    xhr.setRequestHeader("Upload-Offset", String(offset));
    xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
    xhr.upload.onprogress = (e) => onBytes(offset + e.loaded);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error("the connection was lost"));
    xhr.ontimeout = () => reject(new Error("the server did not answer"));
    xhr.send(blob);
  });
}

// The server sends the source percent-encoded (a header value cannot hold every file name's characters).
function sourceOf(header) {
  return header ? decodeURIComponent(header) : header;
}

// Upload `file` into `dataset`; `on` gets {bytes, status} updates; `idField`: the field a new dataset's
// document ids come from (null: file and position); `recordsPath`: where a new dataset's files keep their
// records (null: the file's records as they are). Resolves to the records' source ("<dataset>/<name>");
// rejects with UploadRefused when the server refuses (its reason as message).
// Delete an upload and its bytes on the server (a request still writing it answers 423 for a moment):
// "deleted", "complete" (its last byte was first: the file is in the inbox) or "kept" (no answer).
export async function cancelUpload(location) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const response = await fetch(location, { method: "DELETE", headers: TUS }).catch(() => null);
    if (response?.ok || response?.status === 404) return "deleted";
    if (response?.status === 409) return "complete";
    await sleep(250);
  }
  return "kept";
}

export async function upload(file, dataset, on, idField = null, recordsPath = null, { signal = null, known = null } = {}) {
  const key = storageKey(file, dataset);
  let location = localStorage.getItem(key) || known;
  let offset = 0;
  if (location) {
    const head = await fetch(location, { method: "HEAD", headers: TUS, cache: "no-store" });
    if (head.ok) {
      offset = Number(head.headers.get("Upload-Offset"));
      const source = sourceOf(head.headers.get("Spoolbridge-Source"));
      if (source) { localStorage.removeItem(key); on({ bytes: file.size, status: "already uploaded" }); return source; }
      on({ bytes: offset, status: `resuming at byte ${offset}`, resumedAt: offset });
    } else {
      location = null;
    }
  }
  if (!location) {
    const created = await fetch("api/uploads", {
      method: "POST",
      headers: { ...TUS, "Upload-Length": String(file.size), "Upload-Metadata": `filename ${b64(file.name)},dataset ${b64(dataset)}${idField ? `,id_field ${b64(idField)}` : ""}${recordsPath ? `,records_path ${b64(recordsPath)}` : ""}` },
    });
    if (created.status !== 201) throw new UploadRefused(await reason(created));
    location = created.headers.get("Location");
    localStorage.setItem(key, location);
    const source = sourceOf(created.headers.get("Spoolbridge-Source")); // an empty file is complete at once
    if (source) { localStorage.removeItem(key); return source; }
  }
  let wait = 250;
  let resumes = 0; // connections lost or requests refused midway, each followed by a resume
  let refusedAtEnd = null; // a 409 to the last byte: the file is not handed over (why, if HEAD says it is gone)
  const cancelled = async () => {
    const outcome = await cancelUpload(location);
    if (outcome !== "kept") localStorage.removeItem(key);
    return new UploadCancelled(outcome);
  };
  for (;;) {
    if (signal?.aborted) throw await cancelled();
    try {
      const xhr = await patchRest(location, offset, file.slice(offset), (bytes) => on({ bytes, status: "uploading", resumes }), signal);
      if (xhr.status === 204) {
        offset = Number(xhr.getResponseHeader("Upload-Offset"));
        wait = 250;
        const source = sourceOf(xhr.getResponseHeader("Spoolbridge-Source"));
        if (source) { localStorage.removeItem(key); on({ bytes: file.size, status: "uploaded" }); return source; }
        continue;
      }
      if (![409, 423].includes(xhr.status) && xhr.status < 500 && xhr.status !== 0) throw new UploadRefused((xhr.responseText || "").trim() || `the server answered ${xhr.status}`);
      const endOffset = xhr.getResponseHeader("Upload-Offset");
      refusedAtEnd = xhr.status === 409 && endOffset !== null && Number(endOffset) === file.size ? (xhr.responseText || "").trim() : null;
      resumes++;
      on({ bytes: offset, status: `${(xhr.responseText || "").trim() || xhr.status}: asking the server where to go on`, resumes });
    } catch (e) {
      if (e instanceof UploadRefused) throw e;
      if (e instanceof UploadCancelled || signal?.aborted) throw await cancelled();
      resumes++;
      on({ bytes: offset, status: `${e.message}: resuming`, resumes });
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 4000);
    try {
      const head = await fetch(location, { method: "HEAD", headers: TUS, cache: "no-store" });
      // the server deletes an upload it refuses at its last byte (an id field whose values repeat): its reason
      if (head.status === 404 || head.status === 410) { localStorage.removeItem(key); throw new UploadRefused(refusedAtEnd || "the server no longer has this upload; start it again"); }
      if (head.ok) offset = Number(head.headers.get("Upload-Offset"));
    } catch (e) {
      if (e instanceof UploadRefused) throw e; // else: still offline, try again after the next wait
    }
  }
}
