import { h } from "../dom";
import type { FieldViolation } from "./errors";

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

let counter = 0;

/** A labelled control with its own error line, tied to it by
 * aria-describedby, so a screen reader reads the server's message with the
 * field and the message sits next to what it is about. */
export class Field<C extends Control = Control> {
  readonly control: C;
  readonly error: HTMLElement;
  readonly element: HTMLElement;

  constructor(label: string, control: C, hint = "") {
    const id = `f${++counter}`;
    control.id = id;
    this.control = control;
    this.error = h("p", { class: "error field-error", id: `${id}-error` });
    const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
    control.setAttribute("aria-describedby", [hintEl ? `${id}-hint` : "", `${id}-error`].join(" ").trim());
    this.element = h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl, this.error);
  }

  get value(): string {
    return this.control.value.trim();
  }

  fail(message: string): void {
    this.error.textContent = message;
    this.control.setAttribute("aria-invalid", "true");
  }

  reset(): void {
    this.error.textContent = "";
    this.control.removeAttribute("aria-invalid");
  }
}

/** Text of a number field as the request wants it: undefined when empty (the
 * server's default), NaN passed on as is for the server to refuse. */
export function optionalNumber(field: Field): number | undefined {
  return field.value === "" ? undefined : Number(field.value);
}

export function input(attrs: Record<string, string> = {}): HTMLInputElement {
  return h("input", { type: "text", ...attrs });
}

export function select(options: [string, string][], value = ""): HTMLSelectElement {
  const el = h("select", {}, ...options.map(([v, text]) => h("option", { value: v }, text)));
  el.value = value || options[0][0];
  return el;
}

/** Shows each violation next to its field (by the server's field path, as
 * `route` maps it); returns what no field claimed, for the form's own alert. */
export function showViolations(
  violations: FieldViolation[],
  route: (path: string) => Field | undefined,
): FieldViolation[] {
  const left: FieldViolation[] = [];
  let first: Field | undefined;
  for (const v of violations) {
    const field = route(v.field);
    if (field) {
      field.fail(v.description);
      first ??= field;
    } else left.push(v);
  }
  first?.control.focus();
  return left;
}
