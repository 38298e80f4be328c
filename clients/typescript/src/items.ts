/**
 * Builders for the messages a client sends most: answers and items. They
 * mirror the Python SDK's `classification`, `multi_label`, `text_item` and
 * `source_item`, so examples read the same in both languages.
 */
import { create, type JsonObject } from "@bufbuild/protobuf";

import { type Answer, AnswerSchema } from "./gen/labelwire/v1/answer_pb.js";
import { GoldUse, type Item, ItemSchema } from "./gen/labelwire/v1/item_pb.js";

export function classification(className: string): Answer {
  return create(AnswerSchema, { value: { case: "classification", value: { className } } });
}

export function multiLabel(classNames: Iterable<string>): Answer {
  return create(AnswerSchema, { value: { case: "multiLabel", value: { classNames: [...classNames] } } });
}

export interface ItemOptions {
  /** A class name or a full Answer: makes the item a test question (gold), never shown to workers as such. */
  gold?: string | Answer;
  /** Which gold pool the item feeds: the entry quiz, hidden gold, or either (the server splits). */
  goldUse?: GoldUse;
  /** Carried through to the item's labels (`Label.itemMetadata`). */
  metadata?: JsonObject;
}

function item(key: string, payload: Item["payload"], options: ItemOptions): Item {
  const { gold, goldUse, metadata } = options;
  return create(ItemSchema, {
    key,
    payload,
    metadata,
    goldAnswer: typeof gold === "string" ? classification(gold) : gold,
    goldUse: gold === undefined ? GoldUse.UNSPECIFIED : (goldUse ?? GoldUse.UNSPECIFIED),
  });
}

/** An item whose content is inline text. */
export function textItem(key: string, text: string, options: ItemOptions = {}): Item {
  return item(key, { case: "text", value: text }, options);
}

/** An item whose content is at a URI (an image, a document). */
export function sourceItem(key: string, uri: string, options: ItemOptions = {}): Item {
  return item(key, { case: "sourceRef", value: uri }, options);
}
