import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { body, json, problem, secured } from './openapi-helpers';
import { registerAdminPaths } from './routes/admin';
import { registerAuthPaths } from './routes/auth';
import { registerImportPaths } from './routes/imports';
import { registerStudentPaths } from './routes/students';
import { registerPupilPaths } from './routes/pupils';
import { registerStatsPaths } from './routes/stats';
import { registerDocumentPaths } from './routes/documents';
import { registerPublicPaths } from './routes/public';
import { registerUserPaths } from './routes/users';
import { registerAttachmentPaths } from './routes/attachments';
import { registerConsolePaths } from './routes/console';
import { registerHealthPaths } from './routes/health';
import { LoginBodySchema, LoginResponseSchema } from './schemas/auth';
import {
  ApplicationIdParamsSchema,
  ApplicationListSchema,
  ApplicationSchema,
  CancelBodySchema,
  CreateApplicationBodySchema,
  DecisionBodySchema,
  ListApplicationsQuerySchema,
  ResubmitBodySchema,
  ReversalBodySchema,
  TaskListSchema,
  TasksQuerySchema,
  WithdrawBodySchema,
} from './schemas/applications';
import { CreatedApplicationSchema, GuardianAccessSchema } from './schemas/guardian';

/** The OpenAPI document, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument() {
  const reg = new OpenAPIRegistry();
  reg.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });

  reg.registerPath({
    method: 'post',
    path: '/api/auth/login',
    summary: '登录',
    request: body(LoginBodySchema),
    responses: {
      200: json(LoginResponseSchema, '登录成功'),
      400: problem('缺少字段'),
      401: problem('用户名或密码不正确'),
      429: problem('连续登录失败，账号已暂时锁定，或此地址登录失败过多（见 Retry-After）'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/applications',
    summary: '提交异动申请（转学由转入学校提交）',
    security: secured,
    request: body(CreateApplicationBodySchema),
    responses: {
      201: json(CreatedApplicationSchema, '已保存；guardianAccess 为家长查询编号和查询码，只此一次'),
      400: problem('字段有误'),
      403: problem('非学校学籍管理员'),
      404: problem('学生不存在'),
      409: problem('该学生已有在办业务（applicationId 为该业务编号）'),
      422: problem('不符合办理条件'),
    },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/applications',
    summary: '业务列表（按调用者单位范围）',
    security: secured,
    request: { query: ListApplicationsQuerySchema },
    responses: { 200: json(ApplicationListSchema, '业务列表'), 400: problem('参数有误') },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/applications/{id}/query-code',
    summary: '重新生成家长查询码（申请学校或管理员）：原查询码立即失效，查询编号不变',
    security: secured,
    request: { params: ApplicationIdParamsSchema },
    responses: { 200: json(GuardianAccessSchema, '新的查询码（只此一次）'), 404: problem('不存在或无权操作') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/applications/{id}',
    summary: '业务详情',
    security: secured,
    request: { params: ApplicationIdParamsSchema },
    responses: { 200: json(ApplicationSchema, '业务'), 404: problem('不存在或无权查看') },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/applications/{id}/decisions',
    summary: '审核（当前环节单位）',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...body(DecisionBodySchema) },
    responses: {
      200: json(ApplicationSchema, '已审核'),
      400: problem('不同意/退回未填写理由'),
      403: problem('当前环节不由您的单位办理'),
      404: problem('不存在或无权查看'),
      409: problem('环节已变化或业务已办结'),
      503: problem('流程服务暂不可用'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/applications/{id}/withdraw',
    summary: '撤销（申请学校）',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...body(WithdrawBodySchema) },
    responses: { 200: json(ApplicationSchema, '已撤销'), 403: problem('非申请学校'), 409: problem('已办结') },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/applications/{id}/reversal',
    summary: '纠错：撤销学生最近一次办结的异动（原申请学校，须填写原因；按原审批环节审核）',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...body(ReversalBodySchema) },
    responses: {
      201: json(CreatedApplicationSchema, '已提交纠错业务；guardianAccess 为家长查询编号和查询码，只此一次'),
      400: problem('未填写纠错原因'),
      403: problem('非原申请学校'),
      404: problem('不存在或无权查看'),
      409: problem('未审批通过、不是最近一次异动、已有在办业务、已超过纠错时限或为纠错业务'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/applications/{id}/resubmit',
    summary: '退回后修改并重新提交（申请学校）',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...body(ResubmitBodySchema) },
    responses: {
      200: json(ApplicationSchema, '已重新提交，从第一个环节重新审核'),
      400: problem('字段有误'),
      403: problem('非申请学校'),
      409: problem('该业务未被退回'),
      422: problem('不符合办理条件'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/applications/{id}/cancel',
    summary: '取消（管理员，须填写原因）',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...body(CancelBodySchema) },
    responses: { 200: json(ApplicationSchema, '已取消'), 403: problem('非管理员'), 409: problem('已办结') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/tasks',
    summary: '待办业务：在本单位环节等待审核的业务，及退回本单位修改的业务，等待最久的在前（分页）',
    security: secured,
    request: { query: TasksQuerySchema },
    responses: { 200: json(TaskListSchema, '待办'), 400: problem('limit 或 cursor 有误') },
  });
  registerHealthPaths(reg);

  registerAuthPaths(reg);
  registerUserPaths(reg);
  registerImportPaths(reg);
  registerStudentPaths(reg);
  registerPupilPaths(reg);
  registerStatsPaths(reg);
  registerDocumentPaths(reg);
  registerPublicPaths(reg);
  registerAttachmentPaths(reg);
  registerAdminPaths(reg);
  registerConsolePaths(reg);

  return new OpenApiGeneratorV31(reg.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: '学籍异动 API',
      version: '1.0.0',
      description: '学籍异动审批流程接口。错误均为 application/problem+json。',
    },
    servers: [{ url: '/' }],
  });
}
