import { idCheckChar, parseIdNumber, studentNoFromIdNumber } from '../domain/id-number';
import type { Gender, Role, StudentStatus } from '../domain/types';

// DESIGN.md §4: the demo organisations, users and pupils. Demo only — never load into production.

export const DEMO_PASSWORD = 'demo-password';

// Parents before children. The 地市 and 省 bureaus review only where settings/review-levels.json adds their levels.
export const DEMO_ORGS = [
  { code: '52', name: '贵州省教育厅', kind: 'PROVINCE' as const, parentCode: null },
  { code: '51', name: '四川省教育厅', kind: 'PROVINCE' as const, parentCode: null },
  { code: '5203', name: '遵义市教育局', kind: 'CITY' as const, parentCode: '52' },
  { code: '5119', name: '巴中市教育局', kind: 'CITY' as const, parentCode: '51' },
  { code: '520302', name: '红花岗区教育局', kind: 'COUNTY' as const, parentCode: '5203' },
  { code: '511922', name: '南江县教育局', kind: 'COUNTY' as const, parentCode: '5119' },
  { code: '5203020001', name: '遵义市红花岗区第一小学', kind: 'SCHOOL' as const, parentCode: '520302' },
  { code: '5203020002', name: '遵义市红花岗区第二小学', kind: 'SCHOOL' as const, parentCode: '520302' },
  { code: '5119220001', name: '南江县实验小学', kind: 'SCHOOL' as const, parentCode: '511922' },
  { code: '5119220002', name: '南江县第二小学', kind: 'SCHOOL' as const, parentCode: '511922' },
];

/** Demo mailboxes: `<username>@demo.xueji.local` (written as .eml files under data/mail unless SMTP_URL is set). */
export const demoEmail = (username: string) => `${username}@demo.xueji.local`;

export const DEMO_USERS: { username: string; displayName: string; role: Role; orgCode: string | null }[] = [
  { username: 'admin', displayName: '系统管理员', role: 'ADMIN', orgCode: null },
  { username: 'hhg.edu', displayName: '红花岗区教育局学籍科', role: 'COUNTY_OFFICER', orgCode: '520302' },
  { username: 'nj.edu', displayName: '南江县教育局学籍科', role: 'COUNTY_OFFICER', orgCode: '511922' },
  { username: 'hhg.s1', displayName: '红花岗一小学籍管理员', role: 'SCHOOL_CLERK', orgCode: '5203020001' },
  { username: 'hhg.s2', displayName: '红花岗二小学籍管理员', role: 'SCHOOL_CLERK', orgCode: '5203020002' },
  { username: 'nj.s1', displayName: '南江实验小学学籍管理员', role: 'SCHOOL_CLERK', orgCode: '5119220001' },
  { username: 'nj.s2', displayName: '南江二小学籍管理员', role: 'SCHOOL_CLERK', orgCode: '5119220002' },
  // Officers of the review levels above the county (role COUNTY_OFFICER: an education bureau's officer).
  { username: 'zy.edu', displayName: '遵义市教育局学籍科', role: 'COUNTY_OFFICER', orgCode: '5203' },
  { username: 'gz.edu', displayName: '贵州省教育厅学籍处', role: 'COUNTY_OFFICER', orgCode: '52' },
  { username: 'bz.edu', displayName: '巴中市教育局学籍科', role: 'COUNTY_OFFICER', orgCode: '5119' },
  { username: 'sc.edu', displayName: '四川省教育厅学籍处', role: 'COUNTY_OFFICER', orgCode: '51' },
];

export interface DemoPupil {
  studentNo: string;
  idNumber: string;
  name: string;
  gender: Gender;
  birthDate: string;
  schoolCode: string;
  grade: number;
  className: string;
  status: StudentStatus;
}

export const FIXED_PUPILS = [
  { name: '张小明', idNumber: '520302201505050014', schoolCode: '5203020001', status: 'ENROLLED' as const },
  { name: '李华', idNumber: '520302201508120022', schoolCode: '5203020001', status: 'ENROLLED' as const },
  { name: '王芳', idNumber: '511922201403010035', schoolCode: '5119220001', status: 'ENROLLED' as const },
  { name: '赵磊', idNumber: '520302201601010047', schoolCode: '5203020002', status: 'SUSPENDED' as const },
];

const SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN =
  '子涵欣怡梓轩浩然一诺宇轩思琪雨桐俊杰晨曦嘉怡博文佳琪梦瑶天佑明轩诗涵可馨紫萱雅静志强文博泽宇家豪婉清若曦书瑶亦凡昊天';

/** A small deterministic PRNG (mulberry32), so every seed produces the same pupils (and the same demo history). */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Primary-school grade in the 2026–27 school year: entry at six, by 31 August. */
export function gradeFor(birthDate: string): number {
  const y = Number(birthDate.slice(0, 4));
  const m = Number(birthDate.slice(5, 7));
  const grade = 2026 - y - (m <= 8 ? 5 : 6);
  return Math.min(6, Math.max(1, grade));
}

function pupil(
  p: { name: string; idNumber: string; schoolCode: string; status: StudentStatus },
  classNo: number,
): DemoPupil {
  const parsed = parseIdNumber(p.idNumber, '2026-11-22');
  if (!parsed.ok) throw new Error(`demo ID ${p.idNumber} is invalid: ${parsed.message}`);
  const grade = gradeFor(parsed.birthDate);
  return {
    studentNo: studentNoFromIdNumber(p.idNumber),
    idNumber: p.idNumber,
    name: p.name,
    gender: parsed.gender,
    birthDate: parsed.birthDate,
    schoolCode: p.schoolCode,
    grade,
    className: `${grade}年级${classNo}班`,
    status: p.status,
  };
}

/** The fixed pupils plus `perSchool` generated ones per school, all with checksum-valid ID numbers. */
export function demoPupils(perSchool = 300): DemoPupil[] {
  const out = FIXED_PUPILS.map((p) => pupil(p, 1));
  const used = new Set(out.map((p) => p.idNumber));
  const schools = DEMO_ORGS.filter((o) => o.kind === 'SCHOOL');
  for (const [i, school] of schools.entries()) {
    const rand = seededRandom(20261122 + i);
    const pick = (s: string) => s[Math.floor(rand() * s.length)];
    let made = 0;
    while (made < perSchool) {
      const birth = new Date(Date.UTC(2014, 8, 1) + Math.floor(rand() * 6 * 365) * 86_400_000);
      const ymd = birth.toISOString().slice(0, 10).replace(/-/g, '');
      const seq = String(Math.floor(rand() * 1000)).padStart(3, '0');
      const first17 = `${school.parentCode}${ymd}${seq}`;
      const idNumber = first17 + idCheckChar(first17);
      if (used.has(idNumber)) continue;
      used.add(idNumber);
      const given = rand() < 0.5 ? pick(GIVEN) : pick(GIVEN) + pick(GIVEN);
      out.push(
        pupil(
          { name: pick(SURNAMES) + given, idNumber, schoolCode: school.code, status: 'ENROLLED' },
          1 + Math.floor(rand() * 4),
        ),
      );
      made += 1;
    }
  }
  return out;
}
