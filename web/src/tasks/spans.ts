import { create } from "@bufbuild/protobuf";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { append, clear, digit, h, kbd } from "../dom";
import type { TaskInput, TaskView } from "./types";

interface Mark {
  type: string;
  start: number; // UTF-16 offsets into the text
  end: number;
}

/** Named-entity spans: select text, then pick the entity type by its key or
 * button; spans do not overlap. Offsets go out in Unicode code points. */
export function spans(input: TaskInput): TaskView {
  const text = input.task.payload.case === "text" ? input.task.payload.value : input.task.payload.value ?? "";
  const marks: Mark[] = [];
  const body = h("div", { class: "item-text spans-text", "aria-label": "Text to mark" });
  const list = h("ul", { class: "span-list", "aria-label": "Marked spans" });
  const note = h("p", { class: "hint" }, "Select text, then press the entity type's key or click its button.");
  const types = input.classes.map((c, i) =>
    h("button", { type: "button", class: "choice", onclick: () => add(i) }, i < 9 ? kbd(String(i + 1)) : null, h("span", { class: "name" }, c.name)),
  );

  function selected(): [number, number] | null {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    const range = sel.getRangeAt(0);
    if (!body.contains(range.startContainer) || !body.contains(range.endContainer)) return null;
    const offset = (node: Node, at: number): number => {
      const r = document.createRange();
      r.selectNodeContents(body);
      r.setEnd(node, at);
      return r.toString().length;
    };
    let start = offset(range.startContainer, range.startOffset);
    let end = offset(range.endContainer, range.endOffset);
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    return end > start ? [start, end] : null;
  }

  function add(typeIndex: number): void {
    const range = selected();
    if (!range) {
      note.textContent = "Select some text first.";
      return;
    }
    const [start, end] = range;
    if (marks.some((m) => m.start < end && start < m.end)) {
      note.textContent = "Spans may not overlap: remove the other span first.";
      return;
    }
    marks.push({ type: input.classes[typeIndex].name, start, end });
    marks.sort((a, b) => a.start - b.start);
    window.getSelection()?.removeAllRanges();
    note.textContent = "";
    render();
  }

  function render(): void {
    clear(body);
    clear(list);
    let at = 0;
    for (const m of marks) {
      append(body, text.slice(at, m.start), h("mark", { "data-type": m.type }, text.slice(m.start, m.end)));
      at = m.end;
    }
    append(body, text.slice(at));
    for (const m of marks) {
      const words = text.slice(m.start, m.end);
      append(list, h("li", {}, h("strong", {}, m.type), ` ${words} `,
        h("button", { type: "button", "aria-label": `Remove ${m.type} ${words}`, onclick: () => { marks.splice(marks.indexOf(m), 1); render(); } }, "×")));
    }
  }
  render();
  const points = (i: number): number => [...text.slice(0, i)].length;
  return {
    root: h("div", { class: "task" }, body, h("div", { class: "choices", role: "group", "aria-label": "Entity type" }, ...types), note, list),
    key(e) {
      const i = digit(e);
      if (i >= 0 && i < types.length) {
        add(i);
        return true;
      }
      return false;
    },
    answer() {
      return create(AnswerSchema, {
        value: { case: "spans", value: { spans: marks.map((m) => ({ entityType: m.type, start: points(m.start), end: points(m.end) })) } },
      });
    },
  };
}
