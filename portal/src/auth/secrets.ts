import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Queryable } from '@geo/infra';

/**
 * Secrets the portal must read back (TOTP shared secrets) are kept sealed with AES-256-GCM under one
 * key that never enters the database: a copy of the database alone (backup, replica, SQL injection)
 * gives no second factor. Passwords and recovery codes are hashed instead, as they are only compared.
 */

/** Where the key comes from; see {@link loadSecretsKey}. */
export interface SecretsConfig {
  /**
   * 32 bytes, base64 or hex (env `SECRETS_KEY`). Production sets it (from a secrets manager or a file
   * outside the data directory).
   * @default a key generated at first start into `secretsKeyFile`
   */
  secretsKey?: string;
  /**
   * Where a generated key is kept (mode 0600) when `secretsKey` is unset.
   * @default `secrets.key` beside the PGlite directory, else `.data/secrets.key`
   */
  secretsKeyFile?: string;
}

/** The start cannot go on: the key is malformed or does not open what is stored. */
export class SecretsKeyError extends Error {
  override name = 'SecretsKeyError';
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Sealed values start with this; a base32 TOTP secret never holds a colon, so clear and sealed cannot be confused. */
const PREFIX = 'v1:';

/** Reads a 32-byte key written as 64 hex digits or base64 (standard or url-safe). */
export function parseSecretsKey(text: string, source: string): Buffer {
  const s = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(s) ? Buffer.from(s, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(s) ? Buffer.from(s, 'base64') : undefined;
  if (!key || key.length !== KEY_BYTES)
    throw new SecretsKeyError(`${source} must be ${KEY_BYTES} bytes as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`);
  return key;
}

/** The default place of a generated key: beside the PGlite directory, else under `.data/`. */
export function defaultKeyFile(pgliteDir: string | undefined, databaseUrl: string | undefined): string {
  if (!databaseUrl && pgliteDir && !pgliteDir.includes('://')) return join(dirname(pgliteDir), 'secrets.key');
  return join('.data', 'secrets.key');
}

/**
 * The key: `secretsKey` when set; else the one in `keyFile`, generated there at first start (mode
 * 0600, written only if absent, so two instances starting at once end with the same key). A
 * database in memory with no key set gets a random one: nothing it seals outlives the process.
 */
export function loadSecretsKey(opts: SecretsConfig & { keyFile: string; inMemory: boolean }): { key: Buffer; source: string } {
  if (opts.secretsKey) return { key: parseSecretsKey(opts.secretsKey, 'SECRETS_KEY'), source: 'SECRETS_KEY' };
  if (opts.inMemory && !opts.secretsKeyFile) return { key: randomBytes(KEY_BYTES), source: 'ephemeral' };
  const file = opts.secretsKeyFile ?? opts.keyFile;
  mkdirSync(dirname(file), { recursive: true });
  if (!existsSync(file)) {
    // Written whole under another name, then linked into place (link fails if the file exists): an
    // instance starting at the same moment reads either no file or the whole key, never half of it.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
  }
  return { key: parseSecretsKey(readFileSync(file, 'utf8'), file), source: file };
}

/** Seals and opens small secrets under one key; `context` (e.g. the account id) binds a value to its row. */
export class SecretBox {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new SecretsKeyError(`the secrets key must be ${KEY_BYTES} bytes`);
    this.#key = key;
  }

  /** @example box.seal('JBSWY3DPEHPK3PXP', 'acct-1') // 'v1:…' */
  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(context));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  /** The clear value; throws SecretsKeyError when the key (or context) does not open it. */
  open(sealed: string, context: string): string {
    if (!isSealed(sealed)) throw new SecretsKeyError('value is not sealed');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      d.setAAD(Buffer.from(context));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
    } catch {
      throw new SecretsKeyError('the secrets key does not open a stored secret');
    }
  }
}

export const isSealed = (v: string): boolean => v.startsWith(PREFIX);

const COLUMNS = ['totp_secret', 'totp_pending_secret'] as const;

/**
 * The at-start pass: seals TOTP secrets still stored in clear (rows written before sealing existed),
 * and checks that the key opens every sealed one, so a wrong key stops the start with a clear error
 * instead of failing each login with that factor. Each row is updated only if unchanged since read,
 * so instances starting together never seal a value twice.
 * @returns how many values were sealed now
 */
export async function sealStoredSecrets(db: Queryable, box: SecretBox, source: string): Promise<number> {
  let sealed = 0;
  for (const col of COLUMNS) {
    const { rows } = await db.query<{ id: string; v: string }>(`SELECT id, ${col} AS v FROM accounts WHERE ${col} IS NOT NULL`);
    for (const r of rows) {
      if (isSealed(r.v)) {
        try {
          box.open(r.v, r.id);
        } catch {
          throw new SecretsKeyError(
            `the secrets key (${source}) does not open the stored TOTP secret of account ${r.id}: ` +
              'start with the SECRETS_KEY the portal used before (or restore its key file); logins with a second factor cannot work with this key',
          );
        }
        continue;
      }
      const upd = await db.query(`UPDATE accounts SET ${col} = $3 WHERE id = $1 AND ${col} = $2`, [r.id, r.v, box.seal(r.v, r.id)]);
      sealed += upd.rowCount;
    }
  }
  return sealed;
}

/**
 * The portal's start: loads the key (see {@link loadSecretsKey}), seals what is still in clear and
 * checks that the key opens the rest.
 */
export async function openSecrets(
  db: Queryable,
  cfg: SecretsConfig & { pgliteDir?: string; databaseUrl?: string },
  log: { info(obj: object, msg: string): void },
): Promise<SecretBox> {
  const inMemory = !cfg.databaseUrl && (cfg.pgliteDir ?? 'memory://').startsWith('memory://');
  const { key, source } = loadSecretsKey({ ...cfg, keyFile: defaultKeyFile(cfg.pgliteDir, cfg.databaseUrl), inMemory });
  const box = new SecretBox(key);
  const sealed = await sealStoredSecrets(db, box, source);
  if (sealed) log.info({ sealed, key: source }, 'TOTP secrets stored in clear were sealed');
  return box;
}

/** The portal's box; set at start by createPortal. */
export function secretBox(deps: { secrets?: SecretBox }): SecretBox {
  if (!deps.secrets) throw new Error('the portal started without its secrets key (createPortal sets deps.secrets)');
  return deps.secrets;
}
