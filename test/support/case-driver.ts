// Drives transfers over HTTP the way the people holding each stage would: read the case, decide its current stage as
// the organisation holding it, until it ends. State-based, so it carries on from whatever a case shows — after a
// crash, a retry whose answer was lost, or a restore that took the system back in time.
import type { ApiClient } from './api-client';

export interface CaseView {
  id: number;
  status: string;
  round: number;
  currentStage: string | null;
  steps: { stage: string; decision: string | null }[];
}

/** A transfer from 遵义市红花岗区第一小学 to 南江县实验小学: who holds each stage. */
export const TRANSFER_HZ_TO_NJ = {
  from: '5203020001',
  to: '5119220001',
  filer: 'nj.s1',
  holders: {
    RECEIVING_SCHOOL: 'nj.s1',
    RECEIVING_COUNTY: 'nj.edu',
    SENDING_SCHOOL: 'hhg.s1',
    SENDING_COUNTY: 'hhg.edu',
  } as Record<string, string>,
};

export const CLOSED = ['APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED'];

export class CaseDriver {
  decisions = 0;
  constructor(
    private readonly api: ApiClient,
    private readonly chain = TRANSFER_HZ_TO_NJ,
    /** Looks up the open case of a pupil, for a filing whose first answer was lost. */
    private readonly openCaseOf?: (studentNo: string) => Promise<number | null>,
  ) {}

  async file(studentNo: string, effectiveDate: string): Promise<number> {
    const a = await this.api.post<CaseView>(this.chain.filer, '/api/applications', {
      type: 'TRANSFER',
      studentNo,
      reason: '随父母工作调动',
      effectiveDate,
    });
    if (a.status === 201) return a.body.id;
    if (a.status === 409 && a.uncertain && this.openCaseOf) {
      const id = await this.openCaseOf(studentNo);
      if (id) return id;
    }
    throw new Error(`filing for ${studentNo}: ${a.status} ${JSON.stringify(a.body)}`);
  }

  async read(id: number): Promise<CaseView> {
    const a = await this.api.get<CaseView>('admin', `/api/applications/${id}`);
    if (a.status !== 200) throw new Error(`case ${id}: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body;
  }

  /** Decides the case's current stage (APPROVE) as its holder; returns the case afterwards (or as it now is). */
  async advance(id: number): Promise<CaseView> {
    const c = await this.read(id);
    if (c.status !== 'IN_REVIEW' || !c.currentStage) return c;
    const user = this.chain.holders[c.currentStage];
    const a = await this.api.post<CaseView>(user, `/api/applications/${id}/decisions`, {
      stage: c.currentStage,
      decision: 'APPROVE',
    });
    if (a.status === 200) {
      this.decisions += 1;
      return a.body;
    }
    // 409: someone (or an earlier attempt of ours) moved it meanwhile; the next read shows where it is.
    if (a.status === 409) return this.read(id);
    throw new Error(`APPROVE ${c.currentStage} on case ${id} as ${user}: ${a.status} ${JSON.stringify(a.body)}`);
  }

  /** Advances until the case ends. */
  async finish(id: number): Promise<CaseView> {
    for (let i = 0; i < 20; i++) {
      const c = await this.advance(id);
      if (CLOSED.includes(c.status)) return c;
    }
    throw new Error(`case ${id} did not end`);
  }
}
