/**
 * Demo logins seeded when the portal starts with `DEMO=1` (idempotently; passwords are reset to
 * these on every demo start). The orchestrator prints them: `import { DEMO_CREDENTIALS } from '@geo/portal/demo'`.
 */
export const DEMO_CREDENTIALS = {
  enterprise: '演示集团',
  admin: { name: 'demo', password: 'Demo2024pass', role: '企业管理员' },
  sub: { name: 'demo-sub', password: 'DemoSub-2024', role: '子账户（发短信、通讯录、签名）' },
  operator: { name: 'operator', password: 'Operator-desk-2024', role: '平台运营（审核）' },
} as const;
