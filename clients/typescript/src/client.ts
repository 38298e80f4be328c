/**
 * The hand-written layer over the generated Connect-ES clients: what an ML
 * service, a worker tool or an operator imports. It adds the bearer token,
 * batches items into AddItems messages, pages list calls, and resumes the
 * label stream after a dropped connection from the last sequence it handed
 * out. Each class takes any Connect transport (gRPC or Connect in Node;
 * Connect or gRPC-Web in a browser), so one code path serves every runtime.
 */
import { clone, create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import {
  type CallOptions,
  Code,
  ConnectError,
  createClient,
  type Client as ServiceClient,
  type Transport,
} from "@connectrpc/connect";

import {
  type ApiKey,
  AdminService,
  type CreateAdapterKeyResponse,
  type RotateApiKeyResponse,
} from "./gen/labelwire/v1/admin_service_pb.js";
import type { Answer } from "./gen/labelwire/v1/answer_pb.js";
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
import {
  type AddItemsRequestSchema,
  type AddItemsResponse,
  AddItemsResponseSchema,
  type ImportManifestResponse,
  JobService,
} from "./gen/labelwire/v1/job_service_pb.js";
import type { Label } from "./gen/labelwire/v1/label_pb.js";
import { type ExportLabelsResponse, LabelService } from "./gen/labelwire/v1/label_service_pb.js";
import {
  type GetCalibrationResponse,
  type GetReliabilityResponse,
  type GetJobQualityResponse,
  QualityService,
} from "./gen/labelwire/v1/quality_service_pb.js";
import type { TaskComment, WorkerStats } from "./gen/labelwire/v1/task_pb.js";
import {
  type ExtendLeaseResponse,
  type GetInstructionsResponse,
  type NextTaskResponse,
  type SubmitJudgmentResponse,
  WorkerService,
} from "./gen/labelwire/v1/worker_service_pb.js";

/** Items per AddItems message, as in the Python SDK: well under the server's message limit. */
export const ITEMS_PER_MESSAGE = 1000;

/** Statuses after which the label stream reconnects: the connection broke, not the request. */
export const RETRYABLE: ReadonlySet<Code> = new Set([Code.Unavailable, Code.DeadlineExceeded]);

/**
 * Whether a stream failed because its connection went away. Node's HTTP/2
 * client reports a socket closed under an open stream as CANCELED (a cancel
 * the caller asked for comes through its own signal, checked before this);
 * `fetch` reports a broken response body as a TypeError, which Connect
 * passes on as UNKNOWN with that error as its cause.
 */
function dropped(failure: ConnectError): boolean {
  return (
    RETRYABLE.has(failure.code) ||
    failure.code === Code.Canceled ||
    (failure.code === Code.Unknown && failure.cause instanceof TypeError)
  );
}

/**
 * Transports that cannot stream a request body: `fetch`, in browsers and
 * in Connect-Web's transports anywhere. Over them `Client.addItems` sends
 * one AddItemBatch call per batch instead of the AddItems client stream.
 */
const unaryOnly = new WeakSet<Transport>();

/** Marks `transport` as one that cannot stream a request (what `@labelwire/client/web`'s transports are). */
export function withoutRequestStreams<T extends Transport>(transport: T): T {
  unaryOnly.add(transport);
  return transport;
}

/** What every call accepts: cancel it, or bound its time. */
export interface CallSettings {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type ItemInit = MessageInitShape<typeof ItemSchema>;
export type JobInit = MessageInitShape<typeof JobSchema>;
export type TaskType = "classification" | "multiLabel" | "boundingBox" | "spans" | "segmentation" | "verification";

export interface CreateJobOptions extends CallSettings {
  /** Class names, or names mapped to the description workers see. */
  classes?: readonly string[] | Readonly<Record<string, string>>;
  taskType?: TaskType;
  /** Judgments each item gets (default 3); with `targetConfidence`, the fewest. */
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

export interface ClientOptions {
  /**
   * Send `addItems` as the AddItems client stream (all or nothing for the
   * whole upload) or as AddItemBatch calls (all or nothing per batch). By
   * default it streams, except over a transport from `@labelwire/client/web`
   * (or one passed through `withoutRequestStreams`): fetch cannot stream a
   * request body.
   */
  streamItems?: boolean;
}

export interface AddItemsOptions extends CallSettings {
  perMessage?: number;
  /** Called after each message is handed to the transport: items sent so far, and the total when known. */
  onProgress?: (sent: number, total: number | undefined) => void;
}

export interface StreamLabelsOptions extends CallSettings {
  /** The last sequence you stored; the stream starts right after it. */
  afterSequence?: bigint | number;
  /** Only the labels there are now, then end (instead of following the job until it ends). */
  snapshotOnly?: boolean;
  /** Resume after a dropped connection (default true). */
  reconnect?: boolean;
  /** Wait before each reconnect (default 500 ms). */
  retryDelayMs?: number;
}

function seconds(value: number): ReturnType<typeof durationFromMs> {
  return durationFromMs(value * 1000);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(ConnectError.from(signal.reason, Code.Canceled));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(ConnectError.from(signal?.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
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

async function* pages<P, T>(
  fetchPage: (pageToken: string) => Promise<P & { nextPageToken: string }>,
  itemsOf: (page: P) => T[],
): AsyncGenerator<T> {
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    yield* itemsOf(page);
    pageToken = page.nextPageToken;
  } while (pageToken);
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** What every client class shares: the bearer token on each call. */
export abstract class Authenticated {
  private readonly authorization: string;

  protected constructor(token: string) {
    if (!token) throw new TypeError("a token is required: a client API key, a worker token, an adapter key or the admin key");
    this.authorization = `Bearer ${token}`;
  }

  protected call(settings: CallSettings = {}): CallOptions {
    return {
      headers: { authorization: this.authorization },
      signal: settings.signal,
      timeoutMs: settings.timeoutMs,
    };
  }
}

/** For the service that owns jobs: needs a client API key. */
export class Client extends Authenticated {
  readonly jobs: ServiceClient<typeof JobService>;
  readonly labels: ServiceClient<typeof LabelService>;
  readonly quality: ServiceClient<typeof QualityService>;

  /** Whether `addItems` uses the AddItems client stream (true) or AddItemBatch calls (false). */
  readonly streamsItems: boolean;

  constructor(transport: Transport, apiKey: string, options: ClientOptions = {}) {
    super(apiKey);
    this.jobs = createClient(JobService, transport);
    this.labels = createClient(LabelService, transport);
    this.quality = createClient(QualityService, transport);
    this.streamsItems = options.streamItems ?? !unaryOnly.has(transport);
  }

  /** Creates a job in JOB_STATE_DRAFT. The options cover the common case; `options.job` everything else. */
  async createJob(displayName: string, options: CreateJobOptions = {}): Promise<Job> {
    const response = await this.jobs.createJob({ job: jobSpec(displayName, options) }, this.call(options));
    return required(response.job, "CreateJobResponse.job");
  }

  async getJob(name: string, settings?: CallSettings): Promise<Job> {
    return required((await this.jobs.getJob({ name }, this.call(settings))).job, "GetJobResponse.job");
  }

  /** Every job of this client, newest first, fetched a page at a time. */
  listJobs(settings?: CallSettings): AsyncGenerator<Job> {
    return pages(
      (pageToken) => this.jobs.listJobs({ pageToken }, this.call(settings)),
      (page) => page.jobs,
    );
  }

  async startJob(name: string, settings?: CallSettings): Promise<Job> {
    return required((await this.jobs.startJob({ name }, this.call(settings))).job, "StartJobResponse.job");
  }

  async pauseJob(name: string, settings?: CallSettings): Promise<Job> {
    return required((await this.jobs.pauseJob({ name }, this.call(settings))).job, "PauseJobResponse.job");
  }

  async resumeJob(name: string, settings?: CallSettings): Promise<Job> {
    return required((await this.jobs.resumeJob({ name }, this.call(settings))).job, "ResumeJobResponse.job");
  }

  async cancelJob(name: string, settings?: CallSettings): Promise<Job> {
    return required((await this.jobs.cancelJob({ name }, this.call(settings))).job, "CancelJobResponse.job");
  }

  /**
   * Streams items in messages of `perMessage`; all or nothing. The final
   * message says it is the last (`end`), so a stream cut anywhere before it
   * adds nothing. Over a transport that cannot stream a request (fetch, in
   * browsers) it sends one AddItemBatch call per `perMessage` items instead:
   * each batch is all or nothing, and a failed upload can simply be sent
   * again, since items are keyed and a key already there changes nothing.
   */
  async addItems(
    job: string,
    items: Iterable<ItemInit> | AsyncIterable<ItemInit>,
    options: AddItemsOptions = {},
  ): Promise<AddItemsResponse> {
    const perMessage = options.perMessage ?? ITEMS_PER_MESSAGE;
    if (!Number.isInteger(perMessage) || perMessage < 1) {
      throw new RangeError(`perMessage must be a whole number of at least 1, got ${perMessage}`);
    }
    const total = Array.isArray(items) ? items.length : undefined;
    let sent = 0;
    const report = (count: number): void => {
      sent += count;
      options.onProgress?.(sent, total);
    };
    if (!this.streamsItems) return this.addItemBatches(job, items, perMessage, report, options);
    async function* messages(): AsyncGenerator<MessageInitShape<typeof AddItemsRequestSchema>> {
      let batch: ItemInit[] = [];
      let head: { job: string; explicitEnd: boolean } | undefined = { job, explicitEnd: true };
      for await (const item of items) {
        batch.push(item);
        if (batch.length >= perMessage) {
          yield { ...head, items: batch };
          report(batch.length);
          head = undefined;
          batch = [];
        }
      }
      yield { ...head, items: batch, end: true };
      report(batch.length);
    }
    return this.jobs.addItems(messages(), this.call(options));
  }

  private async addItemBatches(
    job: string,
    items: Iterable<ItemInit> | AsyncIterable<ItemInit>,
    perMessage: number,
    report: (count: number) => void,
    settings: CallSettings,
  ): Promise<AddItemsResponse> {
    const total = create(AddItemsResponseSchema);
    const send = async (batch: ItemInit[]): Promise<void> => {
      const added = await this.jobs.addItemBatch({ job, items: batch }, this.call(settings));
      total.addedCount += added.addedCount;
      total.duplicateCount += added.duplicateCount;
      total.goldCount += added.goldCount;
      report(batch.length);
    };
    let batch: ItemInit[] = [];
    for await (const item of items) {
      batch.push(item);
      if (batch.length >= perMessage) {
        await send(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await send(batch);
    return total;
  }

  async importManifest(
    job: string,
    uri: string,
    options: { keyField?: string; goldField?: string } & CallSettings = {},
  ): Promise<ImportManifestResponse> {
    const { keyField = "", goldField = "" } = options;
    return this.jobs.importManifest({ job, uri, keyField, goldField }, this.call(options));
  }

  /** A pool worker for the job, and its token (shown only now); `tokenTtlSeconds` makes the token expire. */
  async createWorker(
    job: string,
    displayName: string,
    options: { tokenTtlSeconds?: number } & CallSettings = {},
  ): Promise<{ worker: WorkerStats; token: string }> {
    const tokenTtl = options.tokenTtlSeconds ? seconds(options.tokenTtlSeconds) : undefined;
    const response = await this.jobs.createWorker({ job, displayName, tokenTtl }, this.call(options));
    return { worker: required(response.worker, "CreateWorkerResponse.worker"), token: response.token };
  }

  /** Every token of the worker (`jobs/{j}/workers/{w}`) stops working. */
  async revokeWorkerToken(worker: string, settings?: CallSettings): Promise<WorkerStats> {
    const response = await this.jobs.revokeWorkerToken({ worker }, this.call(settings));
    return required(response.worker, "RevokeWorkerTokenResponse.worker");
  }

  /** A new token for the worker; its other tokens work `gracePeriodSeconds` more. */
  async rotateWorkerToken(
    worker: string,
    options: { gracePeriodSeconds?: number; tokenTtlSeconds?: number } & CallSettings = {},
  ): Promise<string> {
    const request = {
      worker,
      gracePeriod: seconds(options.gracePeriodSeconds ?? 0),
      tokenTtl: options.tokenTtlSeconds ? seconds(options.tokenTtlSeconds) : undefined,
    };
    return (await this.jobs.rotateWorkerToken(request, this.call(options))).token;
  }

  /** The comments the job's workers left on its tasks, newest first. */
  async listTaskComments(job: string, settings?: CallSettings): Promise<TaskComment[]> {
    return all(
      pages(
        (pageToken) => this.jobs.listTaskComments({ job, pageToken }, this.call(settings)),
        (page) => page.comments,
      ),
    );
  }

  async listWorkers(job: string, settings?: CallSettings): Promise<WorkerStats[]> {
    return all(
      pages(
        (pageToken) => this.jobs.listWorkers({ job, pageToken }, this.call(settings)),
        (page) => page.workers,
      ),
    );
  }

  /**
   * Every label event after `afterSequence`, following the job until it ends
   * (or, with `snapshotOnly`, until the labels there are now have come). A
   * dropped connection is resumed right after the last label yielded, so
   * nothing is lost and nothing comes twice.
   */
  async *streamLabels(job: string, options: StreamLabelsOptions = {}): AsyncGenerator<Label> {
    let afterSequence = BigInt(options.afterSequence ?? 0);
    const snapshotOnly = options.snapshotOnly ?? false;
    for (;;) {
      try {
        for await (const message of this.labels.streamLabels(
          { job, afterSequence, snapshotOnly },
          this.call(options),
        )) {
          for (const label of message.labels) {
            afterSequence = label.sequence;
            yield label;
          }
        }
        return;
      } catch (error) {
        const failure = ConnectError.from(error);
        if (options.reconnect === false || options.signal?.aborted || !dropped(failure)) throw failure;
        await sleep(options.retryDelayMs ?? 500, options.signal);
      }
    }
  }

  listLabels(job: string, settings?: CallSettings): AsyncGenerator<Label> {
    return pages(
      (pageToken) => this.labels.listLabels({ job, pageToken }, this.call(settings)),
      (page) => page.labels,
    );
  }

  /**
   * Every item as a Ground Truth augmented manifest line, written to `uri`
   * (a path in your folder under the server's files root, or an allowed s3:// URI).
   */
  async exportLabels(
    job: string,
    uri: string,
    options: { labelJobName?: string } & CallSettings = {},
  ): Promise<ExportLabelsResponse> {
    return this.labels.exportLabels({ job, uri, labelJobName: options.labelJobName ?? "" }, this.call(options));
  }

  /** Agreement, cost and every worker's record. */
  async jobQuality(job: string, settings?: CallSettings): Promise<GetJobQualityResponse> {
    return this.quality.getJobQuality({ job }, this.call(settings));
  }

  /** How far the model's pre-labels can be trusted, per class. */
  async calibration(
    job: string,
    options: { buckets?: number; targetPrecision?: number } & CallSettings = {},
  ): Promise<GetCalibrationResponse> {
    const { buckets = 10, targetPrecision = 0.95 } = options;
    return this.quality.getCalibration({ job, buckets, targetPrecision }, this.call(options));
  }

  /** How often a classification job's labels are right at each stated confidence, on its gold. */
  async reliability(job: string, options: { bins?: number } & CallSettings = {}): Promise<GetReliabilityResponse> {
    const { bins = 10 } = options;
    return this.quality.getReliability({ job, bins }, this.call(options));
  }
}

/** For an in-house worker (or the tool it uses): needs a worker token. */
export class WorkerClient extends Authenticated {
  readonly service: ServiceClient<typeof WorkerService>;

  constructor(transport: Transport, token: string) {
    super(token);
    this.service = createClient(WorkerService, transport);
  }

  async instructions(settings?: CallSettings): Promise<GetInstructionsResponse> {
    return this.service.getInstructions({}, this.call(settings));
  }

  /** Leases the next task; `task` is unset when there is none now (see `retryAfter` and `message`). */
  async nextTask(settings?: CallSettings): Promise<NextTaskResponse> {
    return this.service.nextTask({}, this.call(settings));
  }

  /** Records the judgment; resolves once it is committed. */
  async submit(
    task: string,
    answer: Answer,
    options: { timeSpentSeconds?: number } & CallSettings = {},
  ): Promise<SubmitJudgmentResponse> {
    const timeSpent = options.timeSpentSeconds === undefined ? undefined : seconds(options.timeSpentSeconds);
    return this.service.submitJudgment({ task, answer, timeSpent }, this.call(options));
  }

  /** Gives the task back for someone else, without a judgment. */
  async release(task: string, settings?: CallSettings): Promise<void> {
    await this.service.releaseTask({ task }, this.call(settings));
  }

  /** Gives the task back and says why (the owner sees the reasons). */
  async decline(task: string, reason = "", settings?: CallSettings): Promise<void> {
    await this.service.declineTask({ task, reason }, this.call(settings));
  }

  /** A comment for the job's owner on a task this worker was given (1 to 2,000 characters). */
  async comment(task: string, text: string, settings?: CallSettings): Promise<TaskComment> {
    const response = await this.service.commentOnTask({ task, text }, this.call(settings));
    return required(response.comment, "CommentOnTaskResponse.comment");
  }

  /** Renews the lease, by `seconds` or the job's task time limit. */
  async extend(task: string, extensionSeconds?: number, settings?: CallSettings): Promise<ExtendLeaseResponse> {
    const extension = extensionSeconds === undefined ? undefined : seconds(extensionSeconds);
    return this.service.extendLease({ task, extension }, this.call(settings));
  }

  async stats(settings?: CallSettings): Promise<WorkerStats> {
    const response = await this.service.getWorkerStats({}, this.call(settings));
    return required(response.stats, "GetWorkerStatsResponse.stats");
  }
}

/** For the operator: needs the server's admin key. */
export class AdminClient extends Authenticated {
  readonly service: ServiceClient<typeof AdminService>;

  constructor(transport: Transport, adminKey: string) {
    super(adminKey);
    this.service = createClient(AdminService, transport);
  }

  /** A new client's API key (shown only now); `ttlSeconds` makes it expire. */
  async createApiKey(clientName: string, options: { ttlSeconds?: number } & CallSettings = {}): Promise<string> {
    const ttl = options.ttlSeconds ? seconds(options.ttlSeconds) : undefined;
    return (await this.service.createApiKey({ clientName, ttl }, this.call(options))).apiKey;
  }

  /** The keys of one client (`clients/{c}`) or of every client, without secrets. */
  async listApiKeys(parent = "clients/-", settings?: CallSettings): Promise<ApiKey[]> {
    return all(
      pages(
        (pageToken) => this.service.listApiKeys({ parent, pageToken }, this.call(settings)),
        (page) => page.apiKeys,
      ),
    );
  }

  async revokeApiKey(name: string, settings?: CallSettings): Promise<ApiKey> {
    return required((await this.service.revokeApiKey({ name }, this.call(settings))).apiKey, "RevokeApiKeyResponse.apiKey");
  }

  /** A new key for the key's client (`.secret`, shown only now); the old one works `gracePeriodSeconds` more. */
  async rotateApiKey(
    name: string,
    options: { gracePeriodSeconds?: number; ttlSeconds?: number } & CallSettings = {},
  ): Promise<RotateApiKeyResponse> {
    const request = {
      name,
      gracePeriod: seconds(options.gracePeriodSeconds ?? 0),
      ttl: options.ttlSeconds ? seconds(options.ttlSeconds) : undefined,
    };
    return this.service.rotateApiKey(request, this.call(options));
  }

  /** A key for a workforce adapter in its own process (`.adapterKey`, shown only now): it serves the `remote` jobs naming `adapterName`. */
  async createAdapterKey(
    adapterName: string,
    options: { ttlSeconds?: number } & CallSettings = {},
  ): Promise<CreateAdapterKeyResponse> {
    const ttl = options.ttlSeconds ? seconds(options.ttlSeconds) : undefined;
    return this.service.createAdapterKey({ adapterName, ttl }, this.call(options));
  }

  async revokeAdapterKey(name: string, settings?: CallSettings): Promise<void> {
    await this.service.revokeAdapterKey({ name }, this.call(settings));
  }
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new ConnectError(`the server sent no ${field}`, Code.Internal);
  return value;
}
