import { Code, ConnectError } from "@connectrpc/connect";
import { fromJson, type MessageInitShape } from "@bufbuild/protobuf";
import { append, h } from "../dom";
import { AnswerSchema } from "../gen/labelwire/v1/answer_pb";
import { ConsolidationMethod, JobState, MediaType } from "../gen/labelwire/v1/job_pb";
import { VerificationSummary_Verdict as Verdict } from "../gen/labelwire/v1/label_pb";
import { type Api, message } from "./api";
import { VERDICTS } from "./chains";
import { fieldViolations } from "./errors";
import { Field, input, optionalNumber, select, showViolations } from "./form";
import { KindConfig } from "./kinds";
import { jobId } from "./format";

const TASK_TYPES: [string, string][] = [
  ["classification", "Classification (one class)"],
  ["multiLabel", "Multi-label (every class that fits)"],
  ["boundingBox", "Bounding boxes"],
  ["spans", "Text spans (entities)"],
  ["segmentation", "Segmentation"],
  ["verification", "Verify model labels"],
  ["number", "Number (count, size)"],
  ["keypoints", "Key points (image)"],
  ["custom", "Custom (JSON answer)"],
];

const MEDIA: [string, string][] = [
  [String(MediaType.TEXT), "Text"],
  [String(MediaType.IMAGE), "Image"],
  [String(MediaType.DOCUMENT), "Document"],
  [String(MediaType.AUDIO), "Audio"],
  [String(MediaType.VIDEO), "Video"],
];

const METHODS: [string, string][] = [
  [String(ConsolidationMethod.MAJORITY_VOTE), "Majority vote"],
  [String(ConsolidationMethod.WEIGHTED_MAJORITY), "Weighted by gold accuracy"],
  [String(ConsolidationMethod.DAWID_SKENE), "Dawid-Skene"],
  [String(ConsolidationMethod.ONE_COIN), "One-coin Dawid-Skene"],
  [String(ConsolidationMethod.GLAD), "GLAD"],
  [String(ConsolidationMethod.AUTO), "Automatic"],
];

const WORKFORCES: [string, string][] = [
  ["pool", "In-house pool"],
  ["mturk", "Amazon Mechanical Turk"],
  ["groundtruth", "SageMaker Ground Truth"],
];

interface ExampleRow {
  good: boolean;
  text: Field<HTMLTextAreaElement>;
  answer: Field<HTMLInputElement>;
  why: Field<HTMLInputElement>;
  element: HTMLElement;
}

interface RuleRow {
  target: Field<HTMLSelectElement>;
  classes: Field<HTMLInputElement>;
  below: Field<HTMLInputElement>;
  verdict: Field<HTMLSelectElement>;
  element: HTMLElement;
}

function whole(field: Field): number | undefined {
  const n = optionalNumber(field);
  return n === undefined ? undefined : Math.trunc(n);
}

/** A number of minutes or hours as a Duration; empty is the server's
 * default. A value that is not a number goes as -1 s for the server to
 * refuse by name. */
function seconds(field: Field, unit: number): { seconds: bigint; nanos: number } | undefined {
  const n = optionalNumber(field);
  if (n === undefined) return undefined;
  const s = Number.isFinite(n) ? n * unit : -1;
  const whole = Math.floor(s);
  return { seconds: BigInt(whole), nanos: Math.round((s - whole) * 1e9) };
}

/** Dollars typed by a person as millionths of a dollar. */
function micros(field: Field): bigint {
  const n = Number(field.value || "0");
  return BigInt(Math.round((Number.isFinite(n) ? n : -1) * 1e6));
}

/** The create-job form: every setting a job takes, sent as one CreateJob;
 * the server decides what is valid and its field errors are shown next to
 * the field they name. */
export async function createPage(api: Api, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const name = new Field("Name", input({ autocomplete: "off" }));
  const taskType = new Field("Task type", select(TASK_TYPES));
  const media = new Field("Media", select(MEDIA));
  const short = new Field("Short instructions", input(), "One or two sentences shown with every task.");
  const full = new Field("Full instructions", h("textarea", { rows: 4 }), "Markdown; workers open it with i.");
  const judgments = new Field(
    "Judgments per item",
    input({ type: "number", value: "3" }),
    "With a target confidence: an item starts with one, and this is the maximum's default.",
  );
  const maxJudgments = new Field("Maximum judgments", input({ type: "number" }), "With a target confidence: more judgments for unsure items, up to this.");
  const target = new Field("Target confidence", input({ type: "number", step: "0.05" }), "0 to 1; empty for a fixed number of judgments.");
  const method = new Field("Consolidation", select(METHODS));
  const quiz = new Field("Quiz questions", input({ type: "number" }), "Gold items a worker answers first; empty for 5.");
  const pass = new Field("Pass accuracy", input({ type: "number", step: "0.05" }), "0 to 1; empty for 0.8.");
  const hidden = new Field("Hidden gold share", input({ type: "number", step: "0.05" }), "0 to 0.5; empty for 0.1.");
  const exposures = new Field("Gold exposures", input({ type: "number" }), "Workers a hidden-gold item is shown to before it retires; empty or 0 for never.");
  const agreement = new Field("Colluder check: least agreement", input({ type: "number", step: "0.01" }), "-1 to 1; empty for 0.05; -1 turns the check off.");
  const agreementAfter = new Field("Colluder check: after judgments", input({ type: "number" }), "Work judgments before the check judges a worker; empty for 20.");
  const iou = new Field("Segmentation: least overlap (IoU)", input({ type: "number", step: "0.05" }), "Segmentation gold: 0 to 1; empty for 0.8.");
  const timeLimit = new Field("Time per task (minutes)", input({ type: "number", step: "0.5" }), "How long a worker holds a task; empty for 5.");
  const lifetime = new Field("Item lifetime (hours)", input({ type: "number", step: "1" }), "How long an item waits for judgments before it fails; empty for as long as the job runs.");
  const price = new Field("Price per judgment (USD)", input({ type: "number", step: "0.01", value: "0" }));
  const budget = new Field("Budget (USD)", input({ type: "number", step: "0.01", value: "0" }), "0 for no budget.");
  const workforce = new Field("Workforce", select(WORKFORCES));
  const teamBox = h("fieldset", { class: "teams" }, h("legend", {}, "Teams"));
  const teamsError = h("p", { class: "error" });
  const alert = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create job");

  const kind = new KindConfig();
  const tolerance = new Field("Numbers: gold tolerance", input({ type: "number", step: "any" }), "How far from the gold value an answer still counts as right, in the job's unit; empty for 0.");
  const reach = new Field("Key points: gold tolerance", input({ type: "number", step: "0.05" }), "0 to 1, a share of the gold points' size; empty for 0.1.");
  const showKind = (): void => {
    kind.show(taskType.value);
    tolerance.element.hidden = taskType.value !== "number";
    reach.element.hidden = taskType.value !== "keypoints";
  };
  taskType.control.addEventListener("change", showKind);
  showKind();

  // Good and bad examples: shown to workers with the instructions.
  const examples: ExampleRow[] = [];
  const exampleList = h("div", { class: "examples" });
  const kindName = (good: boolean): string => (good ? "Good example" : "Bad example");
  const relabel = (): void => {
    for (const good of [true, false]) {
      examples.filter((x) => x.good === good).forEach((x, i) => {
        const title = `${kindName(good)} ${i + 1}`;
        const labels = x.element.querySelectorAll("label");
        ["text", "answer", "why"].forEach((what, k) => {
          if (labels[k]) labels[k].textContent = `${title} ${what}`;
        });
        x.element.setAttribute("aria-label", title);
        x.element.querySelector("button")?.setAttribute("aria-label", `Remove ${title.toLowerCase()}`);
      });
    }
  };
  const addExample = (good: boolean): ExampleRow => {
    const title = `${kindName(good)} ${examples.filter((x) => x.good === good).length + 1}`;
    const row: ExampleRow = {
      good,
      text: new Field(`${title} text`, h("textarea", { rows: 2 }), "What the worker would see: text, or a file's address for a media job."),
      answer: new Field(`${title} answer`, input({ autocomplete: "off" }), "A class name (names joined by | for multi-label), a number, or the answer as JSON."),
      why: new Field(`${title} why`, input({ autocomplete: "off" }), good ? "Why this answer is right." : "Why this answer is wrong."),
      element: h("div", { class: "example-row", role: "group", "aria-label": title }),
    };
    const remove = h("button", { type: "button", class: "small", "aria-label": `Remove ${title.toLowerCase()}` }, "Remove");
    remove.addEventListener("click", () => {
      examples.splice(examples.indexOf(row), 1);
      row.element.remove();
      relabel();
      (good ? addGood : addBad).focus();
    });
    append(row.element, row.text.element, row.answer.element, row.why.element, remove);
    examples.push(row);
    exampleList.append(row.element);
    row.text.control.focus();
    return row;
  };
  const addGood = h("button", { type: "button", onclick: () => void addExample(true) }, "Add good example");
  const addBad = h("button", { type: "button", onclick: () => void addExample(false) }, "Add bad example");
  /** An example's answer as the request wants it, by the task type: what a
   * person types for a class, JSON (the API's answer) for anything else. */
  const answerOf = (row: ExampleRow, type: string): MessageInitShape<typeof AnswerSchema> | null => {
    const text = row.answer.value;
    if (text === "") return null;
    if (type === "classification" && !text.startsWith("{")) return { value: { case: "classification", value: { className: text } } };
    if (type === "number" && !text.startsWith("{")) return { value: { case: "number", value: { value: Number(text) } } };
    if (type === "multiLabel" && !text.startsWith("{")) return { value: { case: "multiLabel", value: { classNames: text.split("|").map((c) => c.trim()).filter((c) => c) } } };
    return fromJson(AnswerSchema, JSON.parse(text));
  };

  // Routing rules: where this job's labels go next (jobs that feed jobs).
  const ruleRows: RuleRow[] = [];
  const ruleList = h("div", { class: "rules" });
  const rulesError = h("p", { class: "error", id: "rules-error" });
  const targets: [string, string][] = [];
  try {
    let token = "";
    do {
      const page = await api.jobs.listJobs({ pageSize: 100, pageToken: token }, { signal });
      for (const j of page.jobs) {
        if (j.state !== JobState.CANCELLED && j.state !== JobState.FAILED) targets.push([j.name, `${j.displayName} (${j.name})`]);
      }
      token = page.nextPageToken;
    } while (token && targets.length < 1000);
  } catch {
    /* no targets to offer: the button says so */
  }
  const addRule = (): void => {
    const n = ruleRows.length + 1;
    const row: RuleRow = {
      target: new Field(`Rule ${n} sends items to`, select(targets)),
      classes: new Field(`Rule ${n} classes`, input({ autocomplete: "off", placeholder: "any class" }), "Class names, comma-separated."),
      below: new Field(`Rule ${n} confidence below`, input({ type: "number", step: "0.05", min: "0", max: "1" }), "0 to 1; empty for any."),
      verdict: new Field(`Rule ${n} verdict`, select([["0", "any"], ...VERDICTS.map(([v, t]): [string, string] => [String(v), t])])),
      element: h("div", { class: "rule-row", role: "group", "aria-label": `Rule ${n}` }),
    };
    const remove = h("button", { type: "button", class: "small", "aria-label": `Remove rule ${n}` }, "Remove");
    remove.addEventListener("click", () => {
      const at = ruleRows.indexOf(row);
      if (at >= 0) ruleRows.splice(at, 1);
      row.element.remove();
      ruleRows.forEach((r, i) => {
        const labels = r.element.querySelectorAll("label");
        ["sends items to", "classes", "confidence below", "verdict"].forEach((what, k) => {
          if (labels[k]) labels[k].textContent = `Rule ${i + 1} ${what}`;
        });
        r.element.setAttribute("aria-label", `Rule ${i + 1}`);
        r.element.querySelector("button")?.setAttribute("aria-label", `Remove rule ${i + 1}`);
      });
      (ruleRows[Math.min(at, ruleRows.length - 1)]?.target.control ?? addRuleButton).focus();
    });
    append(row.element, row.target.element, row.classes.element, row.below.element, row.verdict.element, remove);
    ruleRows.push(row);
    ruleList.append(row.element);
  };
  const addRuleButton = h(
    "button",
    { type: "button", disabled: targets.length === 0, onclick: () => { addRule(); ruleRows[ruleRows.length - 1].target.control.focus(); } },
    "Add routing rule",
  );
  const rulesSet = h(
    "fieldset",
    { "aria-describedby": "rules-error" },
    h("legend", {}, "Routing to other jobs"),
    h("p", { class: "hint" }, targets.length ? "An item whose first label meets a rule goes on to that job (for example low-confidence labels to an expert job)." : "No other job to send items to yet."),
    ruleList,
    addRuleButton,
    rulesError,
  );

  const teamChecks: HTMLInputElement[] = [];
  try {
    const page = await api.teams.listTeams({ pageSize: 100 }, { signal });
    if (page.teams.length === 0) append(teamBox, h("p", { class: "hint" }, "No teams yet: the job's own workers only."));
    for (const team of page.teams) {
      const box = h("input", { type: "checkbox", value: team.name });
      teamChecks.push(box);
      append(teamBox, h("label", { class: "check" }, box, ` ${team.displayName} (${team.workerCount} workers)`));
    }
  } catch {
    append(teamBox, h("p", { class: "hint" }, "Teams could not be listed."));
  }
  append(teamBox, teamsError);

  const form = h(
    "form",
    { class: "create", novalidate: true, "aria-labelledby": "create-heading" },
    h("fieldset", {}, h("legend", {}, "Job"), name.element, taskType.element, media.element),
    ...kind.elements,
    h("fieldset", {}, h("legend", {}, "Instructions"), short.element, full.element, exampleList, h("div", { class: "actions" }, addGood, addBad)),
    h("fieldset", {}, h("legend", {}, "Judgments"), judgments.element, maxJudgments.element, target.element, method.element),
    h("fieldset", {}, h("legend", {}, "Gold"), quiz.element, pass.element, hidden.element, exposures.element, agreement.element, agreementAfter.element, iou.element, tolerance.element, reach.element),
    h("fieldset", {}, h("legend", {}, "Time limits"), timeLimit.element, lifetime.element),
    h("fieldset", {}, h("legend", {}, "Price"), price.element, budget.element),
    h("fieldset", {}, h("legend", {}, "Workforce"), workforce.element, teamBox),
    rulesSet,
    alert,
    submit,
  );
  append(
    main,
    h("p", {}, h("a", { href: "#/jobs" }, "← Jobs")),
    h("h1", { id: "create-heading" }, "New job"),
    form,
  );
  name.control.focus();

  const fields = [name, taskType, media, short, full, judgments, maxJudgments, target, method, quiz, pass, hidden, exposures, agreement, agreementAfter, iou, tolerance, reach, timeLimit, lifetime, price, budget, workforce];
  const byPath: Record<string, Field> = {
    "job.display_name": name,
    "job.media_type": media,
    "job.instructions.short_instructions": short,
    "job.instructions.full_instructions": full,
    "job.instructions": full,
    "job.judgment_policy.judgments_per_item": judgments,
    "job.judgment_policy.max_judgments_per_item": maxJudgments,
    "job.judgment_policy.target_confidence": target,
    "job.consolidation_method": method,
    "job.gold_policy.quiz_size": quiz,
    "job.gold_policy.pass_accuracy": pass,
    "job.gold_policy.hidden_gold_share": hidden,
    "job.gold_policy.max_gold_exposures": exposures,
    "job.gold_policy.min_work_agreement": agreement,
    "job.gold_policy.min_work_judgments": agreementAfter,
    "job.gold_policy.min_segmentation_iou": iou,
    "job.gold_policy.number_tolerance": tolerance,
    "job.gold_policy.keypoint_tolerance": reach,
    "job.task_time_limit": timeLimit,
    "job.task_lifetime": lifetime,
    "job.price_per_judgment_micros": price,
    "job.budget_micros": budget,
    "job.workforce.adapter": workforce,
    "job.workforce": workforce,
  };
  const route = (path: string): Field | undefined => {
    if (byPath[path]) return byPath[path];
    const example = /^job\.instructions\.(good|bad)_examples\[(\d+)\](\.answer|\.explanation)?/.exec(path);
    if (example) {
      const row = examples.filter((x) => x.good === (example[1] === "good"))[Number(example[2])];
      if (!row) return undefined;
      return example[3] === ".answer" ? row.answer : example[3] === ".explanation" ? row.why : row.text;
    }
    const rule = /^job\.routing_rules\[(\d+)\](?:\.(target_job|classes|confidence_below|verdict))?/.exec(path);
    if (rule) {
      const row = ruleRows[Number(rule[1])];
      if (!row) return undefined;
      return rule[2] === "target_job" ? row.target : rule[2] === "confidence_below" ? row.below : rule[2] === "verdict" ? row.verdict : row.classes;
    }
    return kind.route(path);
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void send();
  });

  const send = async (): Promise<void> => {
    for (const f of [...fields, ...kind.fields(), ...ruleRows.flatMap((r) => [r.target, r.classes, r.below, r.verdict]), ...examples.flatMap((x) => [x.text, x.answer, x.why])]) f.reset();
    kind.clear();
    rulesError.textContent = teamsError.textContent = alert.textContent = "";
    const type = taskType.value;
    const value = kind.value(type);
    const quizSize = optionalNumber(quiz);
    const built: { good: boolean; example: MessageInitShape<typeof AnswerSchema> | null; row: ExampleRow }[] = [];
    for (const row of examples) {
      try {
        built.push({ good: row.good, example: answerOf(row, type), row });
      } catch {
        row.answer.fail("This is not a class name of the job's kind of answer nor JSON of an answer.");
        row.answer.control.focus();
        return;
      }
    }
    const exampleOf = (b: (typeof built)[number]) => ({
      payload:
        Number(media.value) !== MediaType.TEXT && /^[a-z][a-z0-9+.-]*:\/\//i.test(b.row.text.value)
          ? { case: "sourceRef" as const, value: b.row.text.value }
          : { case: "text" as const, value: b.row.text.control.value },
      answer: b.example ?? undefined,
      explanation: b.row.why.value,
    });
    submit.disabled = true;
    try {
      const response = await api.jobs.createJob({
        job: {
          displayName: name.value,
          // The case is one of TASK_TYPES' keys, each with the value built above.
          taskConfig: { config: { case: type, value } as never },
          mediaType: Number(media.value) as MediaType,
          instructions: {
            shortInstructions: short.value,
            fullInstructions: full.control.value,
            goodExamples: built.filter((b) => b.good).map(exampleOf),
            badExamples: built.filter((b) => !b.good).map(exampleOf),
          },
          judgmentPolicy: {
            judgmentsPerItem: Math.trunc(Number(judgments.value || "0")),
            maxJudgmentsPerItem: Math.trunc(optionalNumber(maxJudgments) ?? 0),
            targetConfidence: optionalNumber(target) ?? 0,
          },
          consolidationMethod: Number(method.value) as ConsolidationMethod,
          goldPolicy: {
            quizSize: quizSize === undefined ? undefined : Math.trunc(quizSize),
            passAccuracy: optionalNumber(pass),
            hiddenGoldShare: optionalNumber(hidden),
            maxGoldExposures: whole(exposures),
            minWorkAgreement: optionalNumber(agreement),
            minWorkJudgments: whole(agreementAfter),
            minSegmentationIou: optionalNumber(iou),
            numberTolerance: optionalNumber(tolerance),
            keypointTolerance: optionalNumber(reach),
          },
          taskTimeLimit: seconds(timeLimit, 60),
          taskLifetime: seconds(lifetime, 3600),
          pricePerJudgmentMicros: micros(price),
          budgetMicros: micros(budget),
          workforce: { adapter: workforce.value, teams: teamChecks.filter((b) => b.checked).map((b) => b.value) },
          routingRules: ruleRows.map((r) => ({
            targetJob: r.target.value,
            classes: r.classes.value.split(",").map((c) => c.trim()).filter((c) => c !== ""),
            confidenceBelow: optionalNumber(r.below),
            verdict: Number(r.verdict.value) as Verdict,
          })),
        },
      }, { signal });
      const job = response.job;
      if (job) location.hash = `#/jobs/${encodeURIComponent(jobId(job.name))}/upload`;
    } catch (err) {
      if (signal.aborted) return;
      const violations = fieldViolations(err);
      const left = showViolations(violations, route);
      for (const v of left) {
        if (kind.claim(v)) continue;
        if (v.field.startsWith("job.workforce.teams")) teamsError.textContent = v.description;
        else if (v.field.startsWith("job.routing_rules")) rulesError.textContent = v.description;
        else alert.textContent = v.description;
      }
      if (violations.length === 0 || ConnectError.from(err).code !== Code.InvalidArgument) alert.textContent = message(err);
    } finally {
      submit.disabled = false;
    }
  };
}
