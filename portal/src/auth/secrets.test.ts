import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultKeyFile, isSealed, loadSecretsKey, parseSecretsKey, SecretBox, SecretsKeyError } from './secrets.ts';

describe('secrets at rest', () => {
  const key = randomBytes(32);

  it.each([
    ['64 hex digits', key.toString('hex')],
    ['base64', key.toString('base64')],
    ['base64url', key.toString('base64url')],
    ['with a trailing newline', `${key.toString('base64')}\n`],
  ])('reads a 32-byte key written as %s', (_, text) => {
    expect(parseSecretsKey(text, 'SECRETS_KEY').equals(key)).toBe(true);
  });

  it.each([
    ['short', 'abc'],
    ['16 bytes', randomBytes(16).toString('hex')],
    ['48 bytes', randomBytes(48).toString('base64')],
  ])('refuses a key that is %s, naming where it came from', (_, text) => {
    expect(() => parseSecretsKey(text, 'SECRETS_KEY')).toThrow(/SECRETS_KEY must be 32 bytes/);
  });

  it('seals so that the value is not in the stored text, opens it again, and only for the same row and key', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'acct-1');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.seal('JBSWY3DPEHPK3PXP', 'acct-1')).not.toBe(sealed); // a fresh nonce each time
    expect(box.open(sealed, 'acct-1')).toBe('JBSWY3DPEHPK3PXP');
    expect(() => box.open(sealed, 'acct-2')).toThrow(SecretsKeyError); // copied onto another account
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'acct-1')).toThrow(SecretsKeyError);
    expect(() => box.open(sealed.slice(0, -4) + 'AAAA', 'acct-1')).toThrow(SecretsKeyError); // tampered
  });

  it('generates a key file once, readable by its owner only, and reads the same key afterwards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-key-'));
    try {
      const keyFile = defaultKeyFile(join(dir, 'pglite'), undefined);
      expect(keyFile).toBe(join(dir, 'secrets.key'));
      const a = loadSecretsKey({ keyFile, inMemory: false });
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const b = loadSecretsKey({ keyFile, inMemory: false });
      expect(b.key.equals(a.key)).toBe(true);
      expect(parseSecretsKey(readFileSync(keyFile, 'utf8'), keyFile).equals(a.key)).toBe(true);
      // A configured key wins over the file; an in-memory database without one gets a throwaway key.
      expect(loadSecretsKey({ keyFile, inMemory: false, secretsKey: key.toString('hex') }).key.equals(key)).toBe(true);
      expect(loadSecretsKey({ keyFile: join(dir, 'other.key'), inMemory: true }).source).toBe('ephemeral');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
