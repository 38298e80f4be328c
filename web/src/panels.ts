import { describe } from "./answers";
import { h, kbd } from "./dom";
import type { Example, LabelClass } from "./gen/labelwire/v1/job_pb";
import type { GetInstructionsResponse } from "./gen/labelwire/v1/worker_service_pb";
import { KEYS } from "./tasks/registry";

/** The workspace's modal panels: while one is open it has the keyboard,
 * and leaving the job closes them all. */
export class Panels {
  private readonly open: HTMLDialogElement[] = [];

  /** Whether a panel has the keyboard (Esc closes it at once; its "close"
   * event, which forgets it, comes a task later). */
  get active(): boolean {
    return this.open.some((d) => d.open);
  }

  closeAll(): void {
    for (const dlg of [...this.open]) dlg.close();
  }

  show(title: string, ...body: (Node | null)[]): HTMLDialogElement {
    const id = `dlg-${this.open.length}`;
    const dlg = h("dialog", { "aria-labelledby": id },
      h("form", { method: "dialog" },
        h("header", {}, h("h2", { id }, title), h("button", { type: "button", class: "close", "aria-label": "Close", onclick: () => dlg.close() }, "×")),
        ...body));
    dlg.addEventListener("close", () => {
      dlg.remove();
      this.open.splice(this.open.indexOf(dlg), 1);
    });
    this.open.push(dlg);
    document.body.append(dlg);
    dlg.showModal();
    return dlg;
  }

  /** A panel asking for a few lines of text (a skip's reason, a comment);
   * Enter sends, Shift+Enter starts a new line. `send` gets the text once
   * the panel is closed; it returns false to keep the panel open instead. */
  askText(title: string, id: string, label: string, limit: number, rows: number, button: string, send: (text: string) => boolean | void): void {
    const text = h("textarea", { id, maxlength: String(limit), rows: String(rows) });
    const dlg = this.show(title, h("label", { for: id }, label), text,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, button)));
    const form = dlg.querySelector("form")!;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (send(text.value) === false) return void text.focus();
      dlg.close();
    });
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    text.focus();
  }

  instructions(info: GetInstructionsResponse, classes: LabelClass[]): void {
    const ins = info.instructions;
    const example = (ex: Example): HTMLElement =>
      h("li", {},
        ex.payload.case === "text" ? h("blockquote", {}, ex.payload.value) : ex.payload.case === "sourceRef" ? h("p", {}, ex.payload.value) : null,
        h("p", {}, "Answer: ", h("strong", {}, describe(ex.answer))),
        ex.explanation ? h("p", {}, ex.explanation) : null);
    this.show("Instructions",
      h("div", { class: "instructions" },
        ins?.shortInstructions ? h("p", { class: "short" }, ins.shortInstructions) : null,
        ins?.fullInstructions ? h("div", { class: "full" }, ins.fullInstructions) : null,
        classes.length ? h("section", {}, h("h3", {}, "Classes"), h("ul", {}, ...classes.map((c, i) => h("li", {}, i < 9 ? kbd(String(i + 1)) : null, h("strong", {}, c.name), c.description ? ` — ${c.description}` : "")))) : null,
        ins?.goodExamples.length ? h("section", {}, h("h3", {}, "Good examples"), h("ul", {}, ...ins.goodExamples.map(example))) : null,
        ins?.badExamples.length ? h("section", {}, h("h3", {}, "Bad examples"), h("ul", {}, ...ins.badExamples.map(example))) : null,
        !ins?.shortInstructions && !ins?.fullInstructions ? h("p", {}, "This job has no written instructions.") : null));
  }

  keys(): void {
    this.show("Keys", h("table", {}, h("tbody", {}, ...KEYS.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, h("kbd", {}, k)), h("td", {}, v))))));
  }
}
