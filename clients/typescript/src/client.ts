/**
 * The hand-written layer over the generated Connect-ES clients: what an ML
 * service, a worker tool or an operator imports. It adds the bearer token,
 * batches items into AddItems messages, pages list calls, and resumes the
 * label stream after a dropped connection from the last sequence it handed
 * out. Each class takes any Connect transport (gRPC or Connect in Node;
 * Connect or gRPC-Web in a browser), so one code path serves every runtime.
 * `Client` lives here; `WorkerClient` (worker.ts), `AdminClient` (admin.ts)
 * and the job builder (spec.ts) are re-exported from this module.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  type Client as ServiceClient,
  type Transport,
} from "@connectrpc/connect";

import { all, Authenticated, type CallSettings, pages, required, seconds } from "./call.js";
import type { Job } from "./gen/labelwire/v1/job_pb.js";
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
import { type CreateJobOptions, type ItemInit, jobSpec } from "./spec.js";

export { AdminClient } from "./admin.js";
export { Authenticated, type CallSettings } from "./call.js";
export { type CreateJobOptions, type ItemInit, type JobInit, jobSpec, type TaskType } from "./spec.js";
export { WorkerClient } from "./worker.js";

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
