import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { api, ok, type Schemas } from '../api/client';

type Org = Schemas['Organisation'];

/**
 * Finding a school among thousands: 省 → 市 → 县 (names of GB/T 2260 regions, from the codes), then the county's
 * schools; or search by school code or a part of the name. `value` is the school's code.
 */
export function SchoolPicker(props: {
  id: string;
  value: string;
  onChange: (code: string) => void;
  describedBy?: string;
  invalid?: boolean;
  /** Schools never offered (the caller's own school, for a transfer into it). */
  exclude?: string;
}) {
  const uid = useId();
  const regions = useQuery({
    queryKey: ['regions'],
    queryFn: () => ok(api.GET('/api/organisations/regions')),
    staleTime: 3_600_000,
  });
  const [province, setProvince] = useState('');
  const [city, setCity] = useState('');
  const [county, setCounty] = useState('');
  const [text, setText] = useState('');
  const [query, setQuery] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQuery(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);
  const region = county || city.slice(0, 4) || province.slice(0, 2);
  const schools = useQuery({
    queryKey: ['schools', region, query],
    queryFn: () =>
      ok(
        api.GET('/api/organisations', {
          params: { query: { kind: 'SCHOOL', region: region || undefined, q: query || undefined, limit: 100 } },
        }),
      ),
    enabled: !!county || query.length > 0,
    staleTime: 60_000,
  });
  // A school chosen earlier (a draft) is shown by its name until the clerk changes it.
  const chosen = useQuery({
    queryKey: ['school', props.value],
    queryFn: () =>
      ok(api.GET('/api/organisations', { params: { query: { q: props.value, kind: 'SCHOOL', limit: 1 } } })),
    enabled: !!props.value,
    staleTime: 3_600_000,
  });
  const provinces = regions.data?.items ?? [];
  const cities = provinces.find((p) => p.code === province)?.cities ?? [];
  const counties = cities.find((c) => c.code === city)?.counties ?? [];
  const options = (schools.data?.items ?? []).filter((o: Org) => o.code !== props.exclude);
  const current = chosen.data?.items.find((o) => o.code === props.value);
  return (
    <div className="school-picker">
      <div className="cascade" role="group" aria-label="按地区选择">
        <div>
          <label htmlFor={`${uid}-p`}>省</label>
          <select
            id={`${uid}-p`}
            value={province}
            onChange={(e) => {
              setProvince(e.target.value);
              setCity('');
              setCounty('');
            }}
          >
            <option value="">{regions.isPending ? '加载中…' : '请选择'}</option>
            {provinces.map((p) => (
              <option key={p.code} value={p.code}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={`${uid}-c`}>市</label>
          <select
            id={`${uid}-c`}
            value={city}
            disabled={!province}
            onChange={(e) => {
              setCity(e.target.value);
              setCounty('');
            }}
          >
            <option value="">请选择</option>
            {cities.map((c) => (
              <option key={c.code} value={c.code}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={`${uid}-k`}>县（区）</label>
          <select id={`${uid}-k`} value={county} disabled={!city} onChange={(e) => setCounty(e.target.value)}>
            <option value="">请选择</option>
            {counties.map((k) => (
              <option key={k.code} value={k.code}>
                {k.name}（{k.schools} 所学校）
              </option>
            ))}
          </select>
        </div>
      </div>
      <label htmlFor={`${uid}-q`} className="sub-label">
        或输入学校代码、名称查找
      </label>
      <input
        id={`${uid}-q`}
        type="search"
        value={text}
        placeholder="如 5203020001 或 红花岗区第一小学"
        autoComplete="off"
        onChange={(e) => setText(e.target.value)}
      />
      <select
        id={props.id}
        value={props.value}
        aria-describedby={props.describedBy}
        aria-invalid={props.invalid}
        onChange={(e) => props.onChange(e.target.value)}
      >
        <option value="">
          {!county && !query
            ? current
              ? `${current.name}（${current.code}）`
              : '先选择县（区）或输入学校代码、名称'
            : schools.isPending
              ? '正在查找…'
              : options.length
                ? `请选择学校（${options.length}${schools.data?.more ? '+' : ''} 所）`
                : '没有找到学校'}
        </option>
        {current && !options.some((o) => o.code === current.code) && (
          <option value={current.code}>
            {current.name}（{current.code}）
          </option>
        )}
        {options.map((o) => (
          <option key={o.code} value={o.code}>
            {o.name}（{o.region ? `${o.region.city}${o.region.county ?? ''}，` : ''}
            {o.code}）
          </option>
        ))}
      </select>
    </div>
  );
}
