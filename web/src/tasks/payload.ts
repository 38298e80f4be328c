import { MediaType } from "../gen/labelwire/v1/job_pb";
import type { Task } from "../gen/labelwire/v1/task_pb";
import { h } from "../dom";

/** Only http(s) sources are shown as they are; anything else (s3:// and
 * local files need the server's presigned links, not built yet) is named. */
export function safeUrl(ref: string): string | null {
  try {
    const url = new URL(ref, location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/** Images fetched ahead of their task, by URL, each with its decoding. */
const ahead = new Map<string, { img: HTMLImageElement; ready: Promise<void> }>();

/** Starts fetching and decoding a task's image before it is shown (the
 * task the server already handed over while the worker reads the quiz
 * feedback); the task's view then takes the decoded element. Only images:
 * audio and video stream as they play. */
export function preload(task: Task | undefined, media: MediaType): void {
  if (task?.payload.case !== "sourceRef" || media === MediaType.AUDIO || media === MediaType.VIDEO || media === MediaType.DOCUMENT) return;
  const url = safeUrl(task.payload.value);
  if (url === null || ahead.has(url)) return;
  const img = h("img", { src: url, draggable: "false" });
  ahead.set(url, { img, ready: img.decode().catch(() => undefined) });
  while (ahead.size > 4) ahead.delete(ahead.keys().next().value as string);
}

export function image(ref: string, alt: string): { el: HTMLElement; img: HTMLImageElement | null; ready: Promise<void> } {
  const url = safeUrl(ref);
  if (url === null) {
    const el = h("p", { class: "notice" }, `This item's file (${ref}) cannot be shown here.`);
    return { el, img: null, ready: Promise.resolve() };
  }
  const early = ahead.get(url);
  if (early) {
    ahead.delete(url);
    early.img.alt = alt;
    return { el: early.img, img: early.img, ready: early.ready };
  }
  const img = h("img", { src: url, alt, draggable: "false" });
  const ready = img.decode().catch(() => undefined);
  return { el: img, img, ready };
}

/** The item as the worker sees it: text as text, JSON pretty-printed as
 * text, a file by its kind. */
export function payload(task: Task, media: MediaType): { el: HTMLElement; ready: Promise<void> } {
  const p = task.payload;
  if (p.case === "text") return { el: h("div", { class: "item-text" }, p.value), ready: Promise.resolve() };
  if (p.case === "json") {
    let shown = p.value;
    try {
      shown = JSON.stringify(JSON.parse(p.value), null, 2);
    } catch {
      /* shown as sent */
    }
    return { el: h("pre", { class: "item-json" }, shown), ready: Promise.resolve() };
  }
  if (p.case === "sourceRef") {
    const url = safeUrl(p.value);
    if (media === MediaType.AUDIO && url) return { el: h("audio", { src: url, controls: true }), ready: Promise.resolve() };
    if (media === MediaType.VIDEO && url) return { el: h("video", { src: url, controls: true }), ready: Promise.resolve() };
    if (media === MediaType.DOCUMENT && url)
      return { el: h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "Open the document"), ready: Promise.resolve() };
    const { el, ready } = image(p.value, "the item");
    return { el: h("div", { class: "item-media" }, el), ready };
  }
  return { el: h("p", { class: "notice" }, "This task has no content."), ready: Promise.resolve() };
}
