import { createSignal } from 'solid-js';
import { get, setCsrfToken } from './api.ts';

export interface Me {
  id: string;
  name: string;
  displayName: string;
  role: 'admin' | 'sub' | 'operator';
  roleLabel: string;
  enterpriseId: string | null;
  enterpriseName: string | null;
  departmentId: string | null;
  permissions: string[];
  csrfToken: string;
}

const [me, setMeSignal] = createSignal<Me | null | undefined>(undefined);
export { me };

export function setMe(m: Me | null): void {
  setCsrfToken(m?.csrfToken ?? '');
  setMeSignal(m);
}

/** Asks the server who is logged in (null when nobody). */
export async function refreshMe(): Promise<void> {
  try {
    setMe(await get<Me>('/api/auth/me'));
  } catch {
    setMe(null);
  }
}

export const can = (feature: string) => !!me()?.permissions.includes(feature);
export const isOperator = () => me()?.role === 'operator';
