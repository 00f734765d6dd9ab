import { describe, expect, it } from 'vitest';
import { shortName } from './map-canvas.tsx';

describe('shortName', () => {
  it('drops the unit word the map already shows by level, in both languages', () => {
    const sut = { code: '1', name: '骆驼派出所', name_en: 'Luotuo Police Station', level: 'precinct' };
    expect(shortName(sut, 'zh-CN')).toBe('骆驼');
    expect(shortName(sut, 'en')).toBe('Luotuo');
    expect(shortName({ code: '2', name: '海曙分局', name_en: 'Haishu District Bureau', level: 'district' }, 'en')).toBe('Haishu');
    expect(shortName({ code: '3', name: '白沙清河社区', name_en: 'Baisha Qinghe Community', level: 'community' }, 'en')).toBe('Baisha Qinghe');
    expect(shortName({ code: '4', name: '东方社区', level: 'community' }, 'en')).toBe('东方社区');
  });
});
