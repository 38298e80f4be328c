/**
 * The client of a workforce adapter that runs in its own process: it serves
 * the jobs of the `remote` workforce that name it, with an adapter key the
 * operator made (`AdminClient.createAdapterKey`). The calls are the in-process
 * adapter contract's: claim items, report the outside workers' judgments,
 * discount a worker, see a job's state and budget, report failure. Claims and
 * judgments carry the adapter's own ids, so a call repeated after a crash or a
 * lost response changes nothing twice.
 */
import type { Duration } from "@bufbuild/protobuf/wkt";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Client as ServiceClient, type Transport } from "@connectrpc/connect";

import {
  type AdapterItem,
  type JudgmentResult,
  JudgmentOutcome,
  WorkforceAdapterService,
} from "./gen/labelwire/v1/adapter_service_pb.js";
import type { Answer } from "./gen/labelwire/v1/answer_pb.js";
import { type Job, JobState } from "./gen/labelwire/v1/job_pb.js";
import { Authenticated, type CallSettings } from "./client.js";

/** One outside worker's answer, as `WorkforceAdapterClient.recordJudgments` takes it. */
export interface ExternalJudgment {
  /** The adapter's own id for this judgment: resending it records nothing twice. */
  judgmentId: string;
  itemKey: string;
  /** The workforce's own id of the worker; labelwire names it `remote:{workerId}`. */
  workerId: string;
  answer: Answer;
  timeSpentSeconds?: number;
}

/** What a batch of judgments did, counted as the in-process contract's `RecordOutcome`. */
export interface RecordOutcome {
  recorded: number;
  duplicates: number;
  rejected: JudgmentResult[];
}

/** The calls of WorkforceAdapterService, with the adapter key on each. */
export class WorkforceAdapterClient extends Authenticated {
  readonly service: ServiceClient<typeof WorkforceAdapterService>;

  constructor(transport: Transport, adapterKey: string) {
    super(adapterKey);
    this.service = createClient(WorkforceAdapterService, transport);
  }

  /** Says which task types (TaskConfig's field names, e.g. `classification`) this adapter runs; call it at every start. */
  async attach(taskTypes: string[] = [], maxJudgmentsPerItem = 0, settings?: CallSettings): Promise<string> {
    return (await this.service.attachAdapter({ taskTypes, maxJudgmentsPerItem }, this.call(settings))).adapterName;
  }

  /** Every job naming this adapter in these states (default: running), oldest first. */
  async listJobs(states: JobState[] = [JobState.RUNNING], settings?: CallSettings): Promise<Job[]> {
    const jobs: Job[] = [];
    let pageToken = "";
    do {
      const page = await this.service.listAdapterJobs({ states, pageToken }, this.call(settings));
      jobs.push(...page.jobs);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return jobs;
  }

  /** One job's state, counters (cost and reserved budget) and settings. */
  async getJob(name: string, settings?: CallSettings): Promise<Job | undefined> {
    return (await this.service.getAdapterJob({ name }, this.call(settings))).job;
  }

  /** Claims up to `maxItems` items within the budget; resending `claimId` returns the same claim. */
  async claimItems(
    job: string,
    claimId: string,
    maxItems: number,
    options: { feeMicrosPerJudgment?: bigint } & CallSettings = {},
  ): Promise<AdapterItem[]> {
    const request = { job, claimId, maxItems, feeMicrosPerJudgment: options.feeMicrosPerJudgment ?? 0n };
    return (await this.service.claimItems(request, this.call(options))).items;
  }

  /** Items this adapter holds and has not judged, failed or returned: what to resume after a restart. */
  async claimedItems(job: string, settings?: CallSettings): Promise<AdapterItem[]> {
    return (await this.service.listClaimedItems({ job }, this.call(settings))).items;
  }

  async returnItems(job: string, itemKeys: string[], settings?: CallSettings): Promise<void> {
    await this.service.returnItems({ job, itemKeys }, this.call(settings));
  }

  /** Records answers; resolves once they are committed. */
  async recordJudgments(job: string, judgments: ExternalJudgment[], settings?: CallSettings): Promise<RecordOutcome> {
    const request = {
      job,
      judgments: judgments.map((j) => ({
        judgmentId: j.judgmentId,
        itemKey: j.itemKey,
        workerId: j.workerId,
        answer: j.answer,
        timeSpent: j.timeSpentSeconds === undefined ? undefined : duration(j.timeSpentSeconds),
      })),
    };
    const { results } = await this.service.recordJudgments(request, this.call(settings));
    return {
      recorded: results.filter((r) => r.outcome === JudgmentOutcome.RECORDED).length,
      duplicates: results.filter((r) => r.outcome === JudgmentOutcome.DUPLICATE).length,
      rejected: results.filter((r) => r.outcome === JudgmentOutcome.REJECTED),
    };
  }

  /** Stops counting an outside worker's judgments; its items get replacement judgments. */
  async discountWorker(job: string, workerId: string, reason: string, settings?: CallSettings): Promise<void> {
    await this.service.discountWorker({ job, workerId, reason }, this.call(settings));
  }

  async failItems(job: string, itemKeys: string[], reason: string, settings?: CallSettings): Promise<void> {
    await this.service.failItems({ job, itemKeys, reason }, this.call(settings));
  }

  async failJob(job: string, reason: string, settings?: CallSettings): Promise<void> {
    await this.service.failJob({ job, reason }, this.call(settings));
  }
}

function duration(seconds: number): Duration {
  return durationFromMs(Math.round(seconds * 1000));
}
