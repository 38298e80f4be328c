/**
 * The job CreateJob receives, from a display name and a few options, as the
 * Python SDK builds it: what `Client.createJob` sends.
 */
import { clone, create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";

import { type CallSettings, seconds } from "./call.js";
import type { ItemSchema } from "./gen/labelwire/v1/item_pb.js";
import {
  ConsolidationMethod,
  GoldPolicySchema,
  InstructionsSchema,
  type Job,
  JobSchema,
  JudgmentPolicySchema,
  type LabelClass,
  MediaType,
  type TaskConfig,
  TaskConfigSchema,
  WorkforceConfigSchema,
} from "./gen/labelwire/v1/job_pb.js";

export type ItemInit = MessageInitShape<typeof ItemSchema>;
export type JobInit = MessageInitShape<typeof JobSchema>;
export type TaskType = "classification" | "multiLabel" | "boundingBox" | "spans" | "segmentation" | "verification";

export interface CreateJobOptions extends CallSettings {
  /** Class names, or names mapped to the description workers see. */
  classes?: readonly string[] | Readonly<Record<string, string>>;
  taskType?: TaskType;
  /** Judgments each item gets (default 3); with `targetConfidence` an item starts with one and this is the default of `maxJudgmentsPerItem`. */
  judgmentsPerItem?: number;
  maxJudgmentsPerItem?: number;
  targetConfidence?: number;
  mediaType?: MediaType;
  shortInstructions?: string;
  fullInstructions?: string;
  quizSize?: number;
  passAccuracy?: number;
  hiddenGoldShare?: number;
  maxGoldExposures?: number;
  minWorkAgreement?: number;
  minWorkJudgments?: number;
  taskTimeLimitSeconds?: number;
  pricePerJudgmentMicros?: bigint | number;
  budgetMicros?: bigint | number;
  /** The workforce adapter (`pool`, `mturk`, `groundtruth`, ...) and its settings. */
  workforce?: string;
  workforceSettings?: JsonObject;
  consolidationMethod?: ConsolidationMethod;
  /** A full Job for everything else; what it sets wins over the options above. */
  job?: JobInit;
}

function taskConfig(taskType: TaskType, classes: LabelClass[]): TaskConfig {
  switch (taskType) {
    case "classification":
      return create(TaskConfigSchema, { config: { case: taskType, value: { classes } } });
    case "multiLabel":
      return create(TaskConfigSchema, { config: { case: taskType, value: { classes } } });
    case "boundingBox":
      return create(TaskConfigSchema, { config: { case: taskType, value: { classes } } });
    case "spans":
      return create(TaskConfigSchema, { config: { case: taskType, value: { entityTypes: classes } } });
    case "segmentation":
      return create(TaskConfigSchema, { config: { case: taskType, value: { classes } } });
    case "verification":
      return create(TaskConfigSchema, { config: { case: taskType, value: { classes } } });
  }
}

/** The job CreateJob receives: `options.job` first, the keyword options where it is silent (as the Python SDK). */
export function jobSpec(displayName: string, options: CreateJobOptions = {}): Job {
  const spec = clone(JobSchema, create(JobSchema, options.job ?? {}));
  spec.displayName ||= displayName;
  if (spec.taskConfig?.config.case === undefined) {
    const given = options.classes ?? [];
    const described: [string, string][] = Array.isArray(given)
      ? given.map((name: string) => [name, ""])
      : Object.entries(given as Readonly<Record<string, string>>);
    const classes = described.map(([name, description]) => ({ name, description }) as LabelClass);
    spec.taskConfig = taskConfig(options.taskType ?? "classification", classes);
  }
  if (!spec.judgmentPolicy?.judgmentsPerItem) {
    spec.judgmentPolicy = create(JudgmentPolicySchema, {
      judgmentsPerItem: options.judgmentsPerItem ?? 3,
      maxJudgmentsPerItem: options.maxJudgmentsPerItem ?? 0,
      targetConfidence: options.targetConfidence ?? 0,
    });
  }
  spec.mediaType ||= options.mediaType ?? MediaType.TEXT;
  if (options.shortInstructions || options.fullInstructions) {
    spec.instructions ??= create(InstructionsSchema);
    spec.instructions.shortInstructions ||= options.shortInstructions ?? "";
    spec.instructions.fullInstructions ||= options.fullInstructions ?? "";
  }
  const gold = {
    quizSize: options.quizSize,
    passAccuracy: options.passAccuracy,
    hiddenGoldShare: options.hiddenGoldShare,
    maxGoldExposures: options.maxGoldExposures,
    minWorkAgreement: options.minWorkAgreement,
    minWorkJudgments: options.minWorkJudgments,
  };
  if (Object.values(gold).some((value) => value !== undefined)) {
    const policy = (spec.goldPolicy ??= create(GoldPolicySchema));
    policy.quizSize ??= gold.quizSize;
    policy.passAccuracy ??= gold.passAccuracy;
    policy.hiddenGoldShare ??= gold.hiddenGoldShare;
    policy.maxGoldExposures ??= gold.maxGoldExposures;
    policy.minWorkAgreement ??= gold.minWorkAgreement;
    policy.minWorkJudgments ??= gold.minWorkJudgments;
  }
  if (options.taskTimeLimitSeconds && !spec.taskTimeLimit) {
    spec.taskTimeLimit = seconds(options.taskTimeLimitSeconds);
  }
  spec.pricePerJudgmentMicros ||= BigInt(options.pricePerJudgmentMicros ?? 0);
  spec.budgetMicros ||= BigInt(options.budgetMicros ?? 0);
  if (options.workforce || options.workforceSettings) {
    spec.workforce ??= create(WorkforceConfigSchema);
    spec.workforce.adapter ||= options.workforce ?? "";
    spec.workforce.settings = { ...options.workforceSettings, ...spec.workforce.settings };
  }
  spec.consolidationMethod ||= options.consolidationMethod ?? ConsolidationMethod.UNSPECIFIED;
  return spec;
}
