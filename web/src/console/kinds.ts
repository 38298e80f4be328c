import { append, h } from "../dom";
import type { FieldViolation } from "./errors";
import { Field, input, optionalNumber } from "./form";

interface NamedRow {
  name: Field<HTMLInputElement>;
  description: Field<HTMLInputElement>;
  element: HTMLElement;
}

/** Rows of a name and a description (classes, entity types, key points),
 * each labelled with its place ("Class 2 name"), so the labels are said
 * again after a removal. */
class NamedList {
  readonly rows: NamedRow[] = [];
  readonly error: HTMLElement;
  readonly element: HTMLFieldSetElement;
  private readonly list = h("div", { class: "classes" });
  private readonly add: HTMLButtonElement;

  /** `keep`: rows sent even when empty, so the server names what is missing. */
  constructor(private readonly noun: string, legend: string, private readonly keep: number, id: string, hint = "") {
    this.error = h("p", { class: "error", id: `${id}-error` });
    this.add = h("button", { type: "button", onclick: () => { this.addRow(); this.rows[this.rows.length - 1].name.control.focus(); } }, `Add ${noun.toLowerCase()}`);
    this.element = h("fieldset", { "aria-describedby": `${id}-error` }, h("legend", {}, legend), hint ? h("p", { class: "hint" }, hint) : null, this.list, this.add, this.error);
    this.addRow();
    this.addRow();
  }

  private addRow(): void {
    const n = this.rows.length + 1;
    const row: NamedRow = {
      name: new Field(`${this.noun} ${n} name`, input({ autocomplete: "off" })),
      description: new Field(`${this.noun} ${n} description`, input({ autocomplete: "off" })),
      element: h("div", { class: "class-row" }),
    };
    const remove = h("button", { type: "button", class: "small", "aria-label": `Remove ${this.noun.toLowerCase()} ${n}` }, "Remove");
    remove.addEventListener("click", () => {
      const at = this.rows.indexOf(row);
      if (at >= 0) this.rows.splice(at, 1);
      row.element.remove();
      this.renumber();
      (this.rows[Math.min(at, this.rows.length - 1)]?.name.control ?? this.add).focus();
    });
    append(row.element, row.name.element, row.description.element, remove);
    this.rows.push(row);
    this.list.append(row.element);
  }

  private renumber(): void {
    this.rows.forEach((r, i) => {
      const labels = r.element.querySelectorAll("label");
      if (labels[0]) labels[0].textContent = `${this.noun} ${i + 1} name`;
      if (labels[1]) labels[1].textContent = `${this.noun} ${i + 1} description`;
      r.element.querySelector("button")?.setAttribute("aria-label", `Remove ${this.noun.toLowerCase()} ${i + 1}`);
    });
  }

  values(): { name: string; description: string }[] {
    return this.rows
      .map((r) => ({ name: r.name.value, description: r.description.value }))
      .filter((c, i) => c.name || c.description || i < this.keep);
  }

  fields(): Field[] {
    return this.rows.flatMap((r) => [r.name, r.description]);
  }

  /** The field of `[i].name` or `[i].description` after the list's path. */
  route(index: number, part: string): Field | undefined {
    const row = this.rows[index];
    return row ? (part === "name" ? row.name : row.description) : undefined;
  }
}

const NUMBER = "job.task_config.number.";

/** The part of the create form that depends on the task type: the classes
 * (or entity types) most types take, a number job's bounds, step and unit,
 * a key-point job's named points. Only the type's own fieldset is shown and
 * sent. */
export class KindConfig {
  /** The fieldsets, in the form's order. */
  readonly elements: HTMLElement[];
  private readonly classes = new NamedList("Class", "Classes", 2, "classes");
  private readonly points = new NamedList("Key point", "Key points", 1, "keypoints", "The points a worker places on each image (nose, left eye), or marks not visible.");
  private readonly min = new Field("Minimum value", input({ type: "number", step: "any" }), "Empty for no lower bound.");
  private readonly max = new Field("Maximum value", input({ type: "number", step: "any" }), "Empty for no upper bound.");
  private readonly step = new Field("Step", input({ type: "number", step: "any", min: "0" }), "1 for whole numbers, 0.01 for two decimals; empty for any value.");
  private readonly unit = new Field("Unit", input({ autocomplete: "off" }), "Shown beside the worker's input (cm, people); at most 32 characters.");
  private readonly number: HTMLFieldSetElement;

  constructor() {
    this.number = h("fieldset", {}, h("legend", {}, "Number"), this.min.element, this.max.element, this.step.element, this.unit.element);
    this.elements = [this.classes.element, this.number, this.points.element];
    this.show("classification");
  }

  show(type: string): void {
    this.classes.element.hidden = ["custom", "number", "keypoints"].includes(type);
    this.number.hidden = type !== "number";
    this.points.element.hidden = type !== "keypoints";
  }

  /** The TaskConfig oneof's value for the type. */
  value(type: string): object {
    if (type === "custom") return {};
    if (type === "number") {
      return { minValue: optionalNumber(this.min), maxValue: optionalNumber(this.max), step: optionalNumber(this.step) ?? 0, unit: this.unit.value };
    }
    if (type === "keypoints") return { keypoints: this.points.values() };
    return type === "spans" ? { entityTypes: this.classes.values() } : { classes: this.classes.values() };
  }

  fields(): Field[] {
    return [...this.classes.fields(), ...this.points.fields(), this.min, this.max, this.step, this.unit];
  }

  clear(): void {
    this.classes.error.textContent = this.points.error.textContent = "";
  }

  route(path: string): Field | undefined {
    if (path.startsWith(NUMBER)) {
      return ({ min_value: this.min, max_value: this.max, step: this.step, unit: this.unit } as Record<string, Field>)[path.slice(NUMBER.length)];
    }
    const point = /^job\.task_config\.keypoints\.keypoints\[(\d+)\]\.(name|description)$/.exec(path);
    if (point) return this.points.route(Number(point[1]), point[2]);
    const cls = /\.(?:classes|entity_types)\[(\d+)\]\.(name|description)$/.exec(path);
    return cls ? this.classes.route(Number(cls[1]), cls[2]) : undefined;
  }

  /** Shows a violation about a whole list (too few entries) under the list. */
  claim(v: FieldViolation): boolean {
    if (v.field === "job.task_config.keypoints.keypoints") this.points.error.textContent = v.description;
    else if (/\.(classes|entity_types)$/.test(v.field)) this.classes.error.textContent = v.description;
    else return false;
    return true;
  }
}
