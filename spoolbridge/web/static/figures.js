// The page's figures as people read them: thousands separators, sizes, a remaining time that does not
// jump, and what each state and figure of a card means.

// 12,345: a figure as people read it (the page is in English)
export const count = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : n ?? undefined);

export function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return `${n.toFixed(u ? 1 : 0)} ${units[u]}`;
}

// What each state and figure of a card means, in words (shown on the card and as the rows' titles).
export const STATES = { waiting: "waiting in the inbox", reading: "being read", done: "read; indexing", failed: "failed; indexing what was read", removing: "being removed from the dataset: its documents are being deleted" };
export const FIGURES = {
  state: "waiting: in the inbox, not read yet; being read: the producer is sending its records; read; indexing: every record is sent, OpenSearch is still taking them; done: every record is accounted for; failed: the file could not be read to its end; removed: every document of the file was deleted from the dataset on request",
  "removed from the dataset": "documents of the file's versions deleted when it was removed from the dataset",
  "bytes uploaded": "how much of the file the server has",
  "records read": "records the producer took from the file",
  produced: "records sent on to be indexed (through Kafka, the pipeline's queue)",
  indexed: "documents from this file that are searchable now",
  rejected: "records the producer could not send (not JSON, or too large); they are in the rejected-records download",
  "same id as a later record": "records whose document id a later record of the file has: the later one is kept",
  "dead-lettered": "records OpenSearch refused (e.g. a value of the wrong type, too many fields); kept aside with the reason, to be fixed and replayed",
  "more than this version makes": "documents of an earlier version of the file that this version no longer has; they are being deleted",
  "docs/s": "documents indexed per second, lately",
  ETA: "about how long until every record is indexed, at the recent pace",
};

// A remaining time that does not jump: the pace is smoothed (an exponential average of the docs/s the
// server reports), and the time is rounded to what a person reads (seconds, then minutes).
export class Eta {
  constructor() { this.pace = 0; }
  update(remaining, docsPerSecond) {
    if (docsPerSecond > 0) this.pace = this.pace ? 0.8 * this.pace + 0.2 * docsPerSecond : docsPerSecond;
    if (!(remaining > 0) || !(this.pace > 0)) return "—";
    const secs = remaining / this.pace;
    if (secs < 90) return `about ${Math.max(5, Math.round(secs / 5) * 5)} s`;
    if (secs < 3600) return `about ${Math.round(secs / 60)} min`;
    return `about ${(secs / 3600).toFixed(1)} h`;
  }
}
