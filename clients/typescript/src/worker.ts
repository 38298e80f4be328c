/** The client an in-house worker (or the tool it uses) holds: one job's tasks, with a worker token. */
import { createClient, type Client as ServiceClient, type Transport } from "@connectrpc/connect";

import { Authenticated, type CallSettings, required, seconds } from "./call.js";
import type { Answer } from "./gen/labelwire/v1/answer_pb.js";
import type { TaskComment, WorkerStats } from "./gen/labelwire/v1/task_pb.js";
import {
  type ExtendLeaseResponse,
  type GetInstructionsResponse,
  type NextTaskResponse,
  type SubmitJudgmentResponse,
  WorkerService,
} from "./gen/labelwire/v1/worker_service_pb.js";

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
