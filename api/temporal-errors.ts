import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Rejection } from '../workflows/messages';
import { WorkflowIdCollisionError } from './services/applications';
import { badRequest, conflict, forbidden, HttpError, ruleViolation, unavailable } from './errors';

/** Maps what Temporal says about a rejected or undeliverable Update to the API contract. */
export function httpErrorFromTemporal(e: unknown): HttpError {
  if (e instanceof WorkflowIdCollisionError) return unavailable('该业务的审批流程未能启动，请联系管理员处理');
  if (e instanceof WorkflowUpdateFailedError) {
    const cause = e.cause;
    if (cause instanceof ApplicationFailure) {
      switch (cause.type) {
        case Rejection.WrongOrganisation:
        case Rejection.AdminOnly:
          return forbidden(cause.message);
        case Rejection.StaleStage:
        case Rejection.CaseClosed:
        case Rejection.NotReturned:
        case Rejection.NoDeadline:
          return conflict(cause.message);
        case Rejection.CommentRequired:
          return badRequest(cause.message, [{ path: 'comment', message: cause.message }]);
        case Rejection.InvalidText: {
          // The validator names the field ({path}); the API's own check normally refuses such text first.
          const path = (cause.details?.[0] as { path?: string } | undefined)?.path ?? 'body';
          return badRequest(cause.message, [{ path, message: cause.message }]);
        }
        case Rejection.NotSupported:
          return ruleViolation(cause.message);
      }
    }
    return unavailable('审核意见未能保存，请稍后重试');
  }
  if (e instanceof WorkflowNotFoundError || /already completed|not found/i.test(String((e as Error)?.message))) {
    return conflict('该业务已办结，不能再操作');
  }
  if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return unavailable('系统繁忙：您的操作已提交但尚未确认，请稍后刷新查看结果，不必重复提交');
  }
  return unavailable('审批流程服务暂时无法连接，请稍后重试');
}
