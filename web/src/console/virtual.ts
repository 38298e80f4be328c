import { h } from "../dom";

/** Rows drawn beyond the visible ones, above and below, so a fast scroll
 * does not show blank space before the next frame. */
const OVERSCAN = 12;

/** A table that puts only its visible rows in the page: 10,000 labels are
 * 10,000 numbers in an array and about 50 rows in the DOM. The table scrolls
 * inside its own box (focusable, so PageDown and End work from the
 * keyboard); rows above and below the window are one spacer row each,
 * hidden from assistive technology, and the table's `aria-rowcount` and each
 * row's `aria-rowindex` tell a screen reader where it is in the whole. Rows
 * must have one height (cells do not wrap: `.virtual td` in the style). */
export class VirtualTable<T> {
  readonly element: HTMLElement;
  readonly table: HTMLTableElement;
  private readonly body = h("tbody", {});
  private readonly top = spacer();
  private readonly bottom = spacer();
  private items: T[] = [];
  private rowHeight = 0;
  private drawn = "";
  private queued = false;
  private cache = new Map<T, HTMLTableRowElement>();
  /** Draws the array from its end: a feed pushes its newest row last and
   * shows it first, with no shifting of a long array. */
  reversed = false;

  constructor(
    label: string,
    head: HTMLTableSectionElement,
    private readonly row: (item: T) => HTMLTableRowElement,
    /** Called when the window comes within a screen of the last row. */
    private readonly nearEnd: (() => void) | null = null,
  ) {
    this.table = h("table", { "aria-label": label, class: "wide virtual" }, head, this.body);
    this.element = h("div", { class: "scroller", tabindex: 0, role: "region", "aria-label": `${label}, scrollable` }, this.table);
    this.element.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.element);
    for (const tr of head.rows) tr.setAttribute("aria-rowindex", "1");
    const columns = `${head.rows[0]?.cells.length ?? 1}`;
    for (const tr of [this.top, this.bottom]) tr.cells[0]?.setAttribute("colspan", columns);
  }

  /** Replaces the rows (kept by reference: push to it, then call refresh). */
  set(items: T[]): void {
    this.items = items;
    this.drawn = "";
    this.draw();
  }

  /** Draws again, for rows added or changed in the array. */
  refresh(): void {
    this.drawn = "";
    this.draw();
  }

  get length(): number {
    return this.items.length;
  }

  /** Draws again after `count` rows came in at the top (the reversed end);
   * a reader scrolled down keeps the rows they were reading in view. */
  prepended(count: number): void {
    if (this.element.scrollTop > 0 && this.rowHeight) this.element.scrollTop += count * this.rowHeight;
    this.refresh();
  }

  private at(n: number): T {
    return this.items[this.reversed ? this.items.length - 1 - n : n] as T;
  }

  private schedule(): void {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.draw();
    });
  }

  private draw(): void {
    const total = this.items.length;
    this.table.setAttribute("aria-rowcount", `${total + 1}`);
    const height = this.rowHeight || 34;
    const view = this.element.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.element.scrollTop / height) - OVERSCAN);
    const last = Math.min(total, Math.ceil((this.element.scrollTop + view) / height) + OVERSCAN);
    const key = `${first}:${last}:${total}`;
    if (key === this.drawn) return;
    this.drawn = key;
    const rows: HTMLTableRowElement[] = [];
    const kept = new Map<T, HTMLTableRowElement>();
    for (let n = first; n < last; n++) {
      const item = this.at(n);
      const tr = this.cache.get(item) ?? this.row(item);
      tr.setAttribute("aria-rowindex", `${n + 2}`);
      kept.set(item, tr);
      rows.push(tr);
    }
    // Rows still in the window stay where they are (a focused button in one
    // keeps its focus); the others go, and new ones go in around them.
    for (const [item, tr] of this.cache) {
      if (kept.get(item) === tr) continue;
      if (tr.contains(document.activeElement)) this.element.focus({ preventScroll: true });
      tr.remove();
    }
    this.cache = kept;
    if (this.top.parentNode !== this.body) this.body.replaceChildren(this.top, this.bottom);
    let before: Element = this.top;
    for (const tr of rows) {
      if (before.nextElementSibling !== tr) before.after(tr);
      before = tr;
    }
    this.top.style.height = `${first * height}px`;
    this.bottom.style.height = `${(total - last) * height}px`;
    if (!this.rowHeight && rows[0]) {
      const measured = rows[0].getBoundingClientRect().height;
      if (measured > 0) {
        this.rowHeight = measured;
        this.drawn = "";
        this.draw();
        return;
      }
    }
    if (this.nearEnd && total > 0 && last >= total - Math.ceil(view / height)) this.nearEnd();
  }
}

function spacer(): HTMLTableRowElement {
  return h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", {}));
}
