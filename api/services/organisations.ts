// Finding a school among thousands: schools and bureaus with the 省/市/县 their code prefix names (GB/T 2260), the
// cascade of regions that have schools, and search by code or name.

import type { Organisation, Prisma } from '../../generated/prisma/client';
import type { PrismaClient } from '../../infra/db';
import { regionOf, type Region } from '../../infra/regions';

export const orgDto = (o: Organisation) => {
  const r = regionOf(o.code);
  return {
    code: o.code,
    name: o.name,
    kind: o.kind,
    parentCode: o.parentCode,
    region: r ? { province: r.province.name, city: r.city.name, county: r.county?.name ?? null } : null,
  };
};

/**
 * Organisations, by code and name. `q` matches the start of the code or any part of the name; `region` is a code
 * prefix (2 digits: a province, 4: a city, 6: a county); `kind` SCHOOL, COUNTY, CITY or PROVINCE. Without a filter: all of them.
 */
export async function findOrganisations(
  prisma: PrismaClient,
  q: { q?: string; region?: string; kind?: Organisation['kind']; limit?: number },
) {
  const where: Prisma.OrganisationWhereInput = {
    AND: [
      q.q ? { OR: [{ code: { startsWith: q.q } }, { name: { contains: q.q } }] } : {},
      q.region ? { code: { startsWith: q.region } } : {},
      q.kind ? { kind: q.kind } : {},
    ],
  };
  const rows = await prisma.organisation.findMany({
    where,
    orderBy: { code: 'asc' },
    ...(q.limit ? { take: q.limit + 1 } : {}),
  });
  const page = q.limit ? rows.slice(0, q.limit) : rows;
  return { items: page.map(orgDto), more: !!q.limit && rows.length > q.limit };
}

interface CountyNode extends Region {
  schools: number;
}
interface CityNode extends Region {
  counties: CountyNode[];
}
interface ProvinceNode extends Region {
  cities: CityNode[];
}

/** 省 → 市 → 县 that have schools, with how many: the cascade the console offers before the school list. */
export async function regionTree(prisma: PrismaClient): Promise<ProvinceNode[]> {
  const counts = await prisma.$queryRaw<{ county: string; schools: number }[]>`
    select left(code, 6) as county, count(*)::int as schools from "Organisation"
    where kind = 'SCHOOL' group by 1 order by 1`;
  const provinces = new Map<string, ProvinceNode>();
  for (const { county, schools } of counts) {
    const r = regionOf(county);
    const p = r?.province ?? { code: `${county.slice(0, 2)}0000`, name: `未知地区 ${county.slice(0, 2)}` };
    const c = r?.city ?? { code: `${county.slice(0, 4)}00`, name: `未知地区 ${county.slice(0, 4)}` };
    const k = r?.county ?? { code: county, name: `未知地区 ${county}` };
    const pn = provinces.get(p.code) ?? { ...p, cities: [] };
    provinces.set(p.code, pn);
    let cn = pn.cities.find((x) => x.code === c.code);
    if (!cn) pn.cities.push((cn = { ...c, counties: [] }));
    cn.counties.push({ ...k, schools });
  }
  return [...provinces.values()];
}
