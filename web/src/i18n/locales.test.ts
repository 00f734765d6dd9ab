import { describe, expect, it } from 'vitest';
import en from './locales/en.json' with { type: 'json' };
import zhCN from './locales/zh-CN.json' with { type: 'json' };
import { initialLanguage } from './index.ts';

type Tree = { [key: string]: string | Tree };

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [prefix + k] : keys(v, `${prefix}${k}.`)));
}

function placeholders(s: string): string[] {
  return [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
}

describe('locale files', () => {
  const sut = { en: en as Tree, zh: zhCN as Tree };

  it('have exactly the same keys', () => {
    expect(keys(sut.zh).sort()).toEqual(keys(sut.en).sort());
  });

  it('use the same placeholders in each label, and no label is empty', () => {
    const lookup = (tree: Tree, key: string): string => key.split('.').reduce<string | Tree>((t, k) => (t as Tree)[k], tree) as string;
    for (const key of keys(sut.en)) {
      const a = lookup(sut.en, key);
      const b = lookup(sut.zh, key);
      expect(a.trim(), key).not.toBe('');
      expect(b.trim(), key).not.toBe('');
      expect(placeholders(b), key).toEqual(placeholders(a));
    }
  });

  it('the Chinese file is in Chinese', () => {
    const han = keys(sut.zh).filter((k) => /[\u4e00-\u9fff]/.test(k.split('.').reduce<string | Tree>((t, p) => (t as Tree)[p], sut.zh) as string));
    expect(han.length / keys(sut.zh).length).toBeGreaterThan(0.9);
  });
});

describe('initialLanguage', () => {
  it('follows the browser, prefers a stored choice, defaults to Chinese', () => {
    expect(initialLanguage(null, ['en-US', 'zh-CN'])).toBe('en');
    expect(initialLanguage(null, ['zh-TW'])).toBe('zh-CN');
    expect(initialLanguage('en', ['zh-CN'])).toBe('en');
    expect(initialLanguage(null, ['fr-FR'])).toBe('zh-CN');
  });
});
